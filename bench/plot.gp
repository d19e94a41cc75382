# gnuplot script of `make bench` (bench/report.py runs it):
#   gnuplot -e "datafile='DATA'; outfile='OUT.png'" bench/plot.gp
# DATA columns: jobs, jobwatchd polls/s, peak RSS (MiB), RSS budget (8 MiB + 1 KiB/job, in MiB), wrk req/s.
set terminal pngcairo size 900,560 font "DejaVu Sans,10"
set output outfile
set title "jobwatchd against N watched jobs (plain HTTP, nginx on loopback)"
set logscale x 10
set xrange [500:200000]
set format x "%.0s%c"
set xlabel "watched jobs (N)"
set ylabel "polls (requests) per second, log scale"
set y2label "peak RSS (MiB)"
set logscale y 10
set yrange [100:3000000]
set y2range [0:*]
set ytics nomirror
set y2tics
set key top left box opaque
set grid xtics ytics
plot datafile using 1:2 axes x1y1 with linespoints lw 2 pt 7 title "jobwatchd polls/s", \
     datafile using 1:5 axes x1y1 with lines lw 1 dt 2 title "wrk ceiling req/s (same server)", \
     datafile using 1:3 axes x1y2 with linespoints lw 2 pt 5 title "jobwatchd peak RSS (MiB, right)", \
     datafile using 1:4 axes x1y2 with lines lw 1 dt 3 title "RSS target 8 MiB + 1 KiB/job (right)"
