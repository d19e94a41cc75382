#!/bin/bash
# jobwatchd --check-config against every file in tests/config: each bad file
# must fail with the `file:line` messages named in its "# expect:" lines (and
# the error count of "# errors: N"), each good file must pass with the summary
# of its "# expect-ok:" line, the shipped example must pass, and no secret
# (secret file, header value, webhook URL token) may appear in any output.
set -u

src=${JW_SOURCE_DIR:?JW_SOURCE_DIR not set}
bin=${JW_BUILD_DIR:?JW_BUILD_DIR not set}/jobwatchd
[ -x "$bin" ] || { echo "FAIL: $bin is not built"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run NAME ARGS...: runs the binary, leaving $tmp/out, $tmp/err and $rc.
run() {
	checks=$((checks + 1))
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

show() {
	echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"; echo "---"
}

# 1. Invalid configs.
n_bad=0
for f in "$src"/tests/config/bad/*.conf; do
	n_bad=$((n_bad + 1))
	run --check-config -c "$f"
	name=$(basename "$f")
	if [ "$rc" != 1 ]; then
		fail "$name: exit $rc, want 1"; show; continue
	fi
	[ -s "$tmp/out" ] && { fail "$name: printed to stdout on error"; show; }
	n_expect=0
	while IFS= read -r line; do
		frag=${line#\# expect: }
		n_expect=$((n_expect + 1))
		grep -qF -- "$frag" "$tmp/err" || { fail "$name: missing \"$frag\""; show; }
	done < <(grep '^# expect: ' "$f")
	[ "$n_expect" -gt 0 ] || fail "$name: has no '# expect:' line"
	want=$(sed -n 's/^# errors: //p' "$f")
	if [ -n "$want" ]; then
		grep -qF "jobwatchd: configuration has $want errors" "$tmp/err" ||
			{ fail "$name: want exactly $want errors"; show; }
		got=$(grep -c "^[^ ]*$name:[0-9]*: " "$tmp/err")
		[ "$got" = "$want" ] || fail "$name: $got error lines, want $want"
	fi
	# Each error line has the file:line: prefix (one exception: the summary).
	if grep -v '^jobwatchd: configuration has ' "$tmp/err" | grep -v '^warning: ' | grep -qv '^/[^ ]*:[0-9]*: '; then
		fail "$name: an error line lacks FILE:LINE:"; show
	fi
done
[ "$n_bad" -ge 25 ] || fail "only $n_bad invalid configs, want at least 25"

# 2. Valid configs and the shipped example.
for f in "$src"/tests/config/good/*.conf "$src"/config/jobwatchd.conf; do
	name=$(basename "$f")
	run --check-config -c "$f"
	if [ "$rc" != 0 ]; then
		fail "$name: exit $rc, want 0"; show; continue
	fi
	grep -q "^jobwatchd: configuration OK: .* ($f)\$" "$tmp/out" || { fail "$name: no summary line"; show; }
	want=$(sed -n 's/^# expect-ok: //p' "$f")
	if [ -n "$want" ]; then
		grep -qF "configuration OK: $want (" "$tmp/out" || { fail "$name: summary is not \"$want\""; show; }
	fi
	[ -s "$tmp/err" ] && { fail "$name: unexpected stderr"; show; }
done

# 2b. A secret the daemon would refuse at start is refused here too, naming
# the file and the form, never the content.
printf 'not-a-whsec-S3CR3T\n' >"$tmp/plain.secret"
chmod 600 "$tmp/plain.secret"
printf '[webhook "ops"]\nurl = https://hooks.example.com/x\nsecret_file = %s\n' "$tmp/plain.secret" >"$tmp/plain.conf"
run --check-config -c "$tmp/plain.conf"
[ "$rc" = 1 ] && grep -qF "[webhook \"ops\"] secret_file: $tmp/plain.secret: the secret does not start with \"whsec_\"" "$tmp/err" &&
	! grep -q "not-a-whsec-S3CR3T" "$tmp/err" "$tmp/out" || { fail "a secret without whsec_"; show; }

# 3. -t is --check-config; a missing file is an error naming it.
run -t -c "$tmp/nonexistent.conf"
[ "$rc" = 1 ] && grep -qF "$tmp/nonexistent.conf: cannot open: No such file or directory" "$tmp/err" ||
	{ fail "missing file"; show; }
if [ ! -e /etc/jobwatchd/jobwatchd.conf ]; then
	run --check-config
	[ "$rc" = 1 ] && grep -qF "/etc/jobwatchd/jobwatchd.conf: cannot open" "$tmp/err" ||
		{ fail "default path is not /etc/jobwatchd/jobwatchd.conf"; show; }
fi
run --check-config -c "$src/tests/config/good/minimal.conf" --no-such-option
[ "$rc" = 2 ] || { fail "unknown option: exit $rc, want 2"; show; }

# 4. Secrets: distinctive values in every secret-bearing place, checked in
# the OK output, the warning output and the error output.
secret=whsec_UzNDUjNUU0VDUkVURklMRTRmMWQ=
header=HDR-S3CR3T-VALUE-9c2e
urltoken=URL-S3CR3T-TOKEN-77ab
token=TOKEN-S3CR3T-HTTP-51e0
mkdir -p "$tmp/etc" "$tmp/creds"
printf '%s\n' "$secret" >"$tmp/etc/ops.secret"
printf 'Authorization: Bearer %s\n' "$header" >"$tmp/etc/ops.headers"
printf '%s\n' "$token" >"$tmp/etc/http.token"
chmod 600 "$tmp/etc/ops.secret" "$tmp/etc/ops.headers" "$tmp/etc/http.token"
cat >"$tmp/etc/secrets.conf" <<EOF
[webhook "slack"]
url = https://hooks.slack.com/services/T000/B000/$urltoken
format = slack
secret_file = ops.secret
headers_file = $tmp/etc/ops.headers
[http]
listen = 127.0.0.1:0
token_file = http.token
EOF
check_no_secrets() {
	for s in "$secret" "$header" "$urltoken" "$token"; do
		if grep -qF -- "$s" "$tmp/out" "$tmp/err"; then
			fail "$1: output contains a secret"; show
		fi
	done
}
run --check-config -c "$tmp/etc/secrets.conf"
[ "$rc" = 0 ] && [ ! -s "$tmp/err" ] || { fail "secrets.conf (mode 600): exit $rc"; show; }
check_no_secrets "secrets.conf"

# Readable by others: a warning naming the file, an error with --strict.
chmod 644 "$tmp/etc/ops.secret" "$tmp/etc/http.token"
run --check-config -c "$tmp/etc/secrets.conf"
[ "$rc" = 0 ] && grep -q "^warning: .*secret_file: $tmp/etc/ops.secret holds a secret but is readable by group or others (mode 0644)" "$tmp/err" &&
	grep -q "^warning: .*token_file: $tmp/etc/http.token holds a secret" "$tmp/err" ||
	{ fail "secret file mode 644: no warning"; show; }
check_no_secrets "secrets.conf 644"
run --check-config --strict -c "$tmp/etc/secrets.conf"
[ "$rc" = 1 ] && grep -q "secrets.conf:4: \[webhook \"slack\"\] secret_file: .*readable by group or others" "$tmp/err" &&
	grep -qF "configuration has 2 errors" "$tmp/err" || { fail "--strict: want 2 errors"; show; }
check_no_secrets "secrets.conf --strict"
chmod 600 "$tmp/etc/ops.secret" "$tmp/etc/http.token"

# Errors on the secret-bearing keys themselves must not echo them.
cat >"$tmp/etc/bad-secrets.conf" <<EOF
[webhook "a"]
url = http://hooks.example.com/services/$urltoken
[webhook "b"]
url = gopher://hooks.example.com/$urltoken
[webhook "c"]
url = https://user:$urltoken@hooks.example.com/
[webhook "d"]
url = https://hooks.example.com/x
secret_file = $tmp/etc/nonexistent.secret
EOF
run --check-config -c "$tmp/etc/bad-secrets.conf"
[ "$rc" = 1 ] && grep -qF "configuration has 4 errors" "$tmp/err" || { fail "bad-secrets.conf: want 4 errors"; show; }
check_no_secrets "bad-secrets.conf"

# A secret may come from systemd credentials under the same basename.
cat >"$tmp/etc/creds.conf" <<EOF
[webhook "ops"]
url = https://hooks.example.com/x
secret_file = /etc/jobwatchd/creds-only.secret
EOF
printf '%s\n' "$secret" >"$tmp/creds/creds-only.secret"
chmod 600 "$tmp/creds/creds-only.secret"
CREDENTIALS_DIRECTORY="$tmp/creds" run --check-config -c "$tmp/etc/creds.conf"
[ "$rc" = 0 ] || { fail "secret_file from \$CREDENTIALS_DIRECTORY: exit $rc"; show; }
run --check-config -c "$tmp/etc/creds.conf"
[ "$rc" = 1 ] || { fail "secret_file without \$CREDENTIALS_DIRECTORY: exit $rc"; show; }
check_no_secrets "creds.conf"

echo "$checks runs, $n_bad invalid configs, $failures failures"
[ "$failures" = 0 ]
