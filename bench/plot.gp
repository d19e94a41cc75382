# gnuplot script of `make bench` (bench/report.py runs it):
#   gnuplot -e "datafile='DATA'; outfile='OUT.png'" bench/plot.gp
# DATA columns: jobs, jobwatchd polls/s, peak RSS (MiB), RSS budget (8 MiB + 1 KiB/job, in MiB), wrk req/s,
# 0.7 x wrk req/s (the throughput target), SDK polls/s (NaN except at the N the SDK ran at).
set terminal pngcairo size 960,640 font "DejaVu Sans,10" noenhanced
set output outfile
set title "jobwatchd against N watched jobs (plain HTTP/1.1, 64 connections, nginx on loopback, max_rps = 100000)"
set logscale x 10
set xrange [500:200000]
set format x "%.0s%c"
set xlabel "watched jobs (N, log scale)"
set ylabel "polls (requests) per second, log scale"
set y2label "peak RSS (MiB)"
set logscale y 10
set yrange [300:300000]
set y2range [0:*]
set ytics nomirror
set y2tics
set bmargin 9
set key at screen 0.5, screen 0.015 center bottom box maxrows 3 width 2
set grid xtics ytics
plot datafile using 1:2 axes x1y1 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "jobwatchd polls/s", \
     datafile using 1:5 axes x1y1 with lines lw 1 dt 2 lc rgb "#1f77b4" title "wrk ceiling req/s (same server)", \
     datafile using 1:6 axes x1y1 with lines lw 1 dt 3 lc rgb "#2ca02c" title "target: 0.7 x wrk", \
     datafile using 1:7 axes x1y1 with points pt 9 ps 2 lc rgb "#9467bd" title "AWS SDK v2 poller polls/s (64 in flight)", \
     datafile using 1:3 axes x1y2 with linespoints lw 2 pt 5 lc rgb "#d62728" title "jobwatchd peak RSS (MiB, right)", \
     datafile using 1:4 axes x1y2 with lines lw 1 dt 3 lc rgb "#d62728" title "RSS target 8 MiB + 1 KiB/job (right)"
