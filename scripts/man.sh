#!/bin/sh
# scripts/man.sh SCDOC SRC OUT: renders a man page with scdoc.  A double quote
# in a section heading would be eaten by roff's argument parsing (".SH
# [webhook "NAME"]" shows as [webhook NAME ]), so headings get \(dq.
set -eu
"$1" <"$2" >"$3.roff"
sed '/^\.SH /s/"/\\(dq/g' "$3.roff" >"$3.tmp"
rm -f "$3.roff"
mv "$3.tmp" "$3"
