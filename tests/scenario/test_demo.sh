#!/bin/bash
# `make demo` end to end: scripts/demo.sh must run to its summary within a
# time limit, exit 0, and its summary must show what the demo scenario is
# built to show -- a failed job, a job gone, a stuck job, jobs ACTIVE and
# signed webhooks verified by the receiver -- with no AWS secret or webhook
# secret in its output.  The demo itself exits 1 when an expectation fails,
# so a broken pipeline (no webhook, bad signature, ...) fails this test.
set -u

src=${JW_SOURCE_DIR:?JW_SOURCE_DIR not set}
build=${JW_BUILD_DIR:?JW_BUILD_DIR not set}
[ -x "$build/jobwatchd" ] || { echo "FAIL: $build/jobwatchd is not built"; exit 1; }
command -v timeout >/dev/null || { echo "SKIP: timeout(1) missing"; exit 77; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT

failures=0
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# 1. The README cannot rot: its commands exist, its examples are real.
readme_out=$(JW_BIN="$build/jobwatchd" python3 - "$src" <<'PY' 2>&1
import json, os, re, subprocess, sys, tempfile

src = sys.argv[1]
readme = open(os.path.join(src, "README.md"), encoding="utf-8").read()
errors = []
blocks = re.findall(r"```(\w*)\n(.*?)```", readme, re.S)

# make targets and jobwatchd commands/options in code blocks exist.
makefile = open(os.path.join(src, "Makefile"), encoding="utf-8").read()
targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
help_text = subprocess.run([os.environ["JW_BIN"], "--help"], capture_output=True, text=True).stdout
commands = [l.strip() for lang, b in blocks if lang in ("sh", "") for l in b.splitlines()]
for line in commands:
    for m in re.finditer(r"(?:^|&& )(?:sudo )?make(?: ([a-z]+))?", line):
        if m.group(1) and m.group(1) not in targets:
            errors.append("README: make target %r does not exist" % m.group(1))
    m = re.match(r"(?:sudo )?(?:[A-Z_]+=\S+ )*jobwatchd (\S+)(.*)", line)
    if m:
        for word in [m.group(1)] + re.findall(r"(--[a-z-]+)", m.group(2)):
            if word.startswith("arn:"):
                continue
            if not re.search(r"(^|[\s\[|])%s\b" % re.escape(word), help_text):
                errors.append("README: `jobwatchd %s` is not in jobwatchd --help" % word)
n_cli = sum(1 for l in commands if re.match(r"(?:sudo )?(?:[A-Z_]+=\S+ )*jobwatchd ", l))
if n_cli < 4:
    errors.append("README: only %d jobwatchd command lines found (parser broken?)" % n_cli)
if "make demo" not in commands or "make test" not in commands:
    errors.append("README: `make demo` and `make test` must each be on a line of their own")

# The MESSAGE_IDs are the real ones.
hdr = open(os.path.join(src, "daemon", "notify", "journal.h"), encoding="utf-8").read()
ids = dict(re.findall(r"JOURNAL_MESSAGE_ID_(\w+)\s+\"([0-9a-f]{32})\"", hdr))
for name, mid in ids.items():
    ev = "job." + name.lower().replace("job_", "", 1)
    if not re.search(r"`%s` \| `%s`" % (re.escape(ev), mid), readme):
        errors.append("README: MESSAGE_ID of %s is not %s" % (ev, mid))
for mid in re.findall(r"MESSAGE_ID=([0-9a-f]{32})", readme):
    if mid not in ids.values():
        errors.append("README: unknown MESSAGE_ID %s" % mid)

# JSON examples parse; the IAM policy names both actions; the payload has the envelope.
jsons = [json.loads(b) for lang, b in blocks if lang == "json"]
actions = [a for j in jsons for st in j.get("Statement", []) for a in st.get("Action", [])]
for a in ("cleanrooms-ml:GetAudienceGenerationJob", "cleanrooms-ml:ListAudienceGenerationJobs"):
    if a not in actions:
        errors.append("README: IAM policy lacks %s" % a)
if not any(j.get("type") == "job.status_changed" and "eventId" in j.get("data", {}) for j in jsons):
    errors.append("README: no json webhook envelope example")

# The minimal configuration passes --check-config (with its secret next to it).
inis = [b for lang, b in blocks if lang == "ini" and "[jobs]" in b]
if not inis:
    errors.append("README: no minimal configuration")
with tempfile.TemporaryDirectory() as d:
    for i, b in enumerate(inis):
        conf = os.path.join(d, "jobwatchd%d.conf" % i)
        open(conf, "w").write(b)
        for sf in re.findall(r"secret_file = (\S+)", b):
            fd = os.open(os.path.join(d, sf), os.O_WRONLY | os.O_CREAT, 0o600)
            os.write(fd, b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
            os.close(fd)
        r = subprocess.run([os.environ["JW_BIN"], "--check-config", "-c", conf], capture_output=True, text=True)
        if r.returncode != 0:
            errors.append("README: minimal configuration rejected: %s" % r.stderr.strip())

# The verification example accepts the Standard Webhooks test vector and rejects tampering.
m = re.search(r"<!-- readme-test: verify -->\s*```python\n(.*?)```", readme, re.S)
if not m:
    errors.append("README: no verification example")
else:
    ns = {}
    exec(m.group(1), ns)
    v = ns["verify"]
    sec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    h = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
         "webhook-signature": "v1,bm9ldHZhbGlk v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    body = b'{"test": 2432232314}'
    if not v(sec, h, body, now=1614265330):
        errors.append("README: verify() rejects the Standard Webhooks test vector")
    if v(sec, h, body + b" ", now=1614265330) or v(sec, h, body, now=1614265330 + 301):
        errors.append("README: verify() accepts a tampered body or a stale timestamp")
for e in errors:
    print(e)
print("README checks: %d problem(s)" % len(errors))
sys.exit(1 if errors else 0)
PY
)
echo "$readme_out" | grep -v '^README checks' | sed 's/^/FAIL: /'
echo "$readme_out" | grep -q '^README checks: 0 problem' || failures=$((failures + 1))

# config/demo.conf is a readable example on its own, not only with the demo's drop-in.
"$build/jobwatchd" --check-config -c "$src/config/demo.conf" >/dev/null 2>"$out" ||
	{ fail "config/demo.conf does not pass --check-config"; cat "$out"; }

# 2. The demo.  Not a tty: no colours, so the summary can be matched as plain text.
timeout 120 "$src/scripts/demo.sh" "$build" >"$out" 2>&1 </dev/null
rc=$?

[ "$rc" = 0 ] || fail "scripts/demo.sh exited $rc (124 = timed out), want 0"
grep -q $'\033\[' "$out" && fail "colour codes written to a non-tty"

# summary_has LABEL REGEX: the summary line starting with LABEL matches REGEX.
summary_has() {
	local line
	line=$(grep -E "^$1 " "$out" | tail -n 1)
	[ -n "$line" ] || { fail "no summary line '$1'"; return; }
	echo "$line" | grep -Eq -- "$2" || fail "summary line '$line' does not match /$2/"
}
summary_has "jobs" "ACTIVE [1-9]"
summary_has "jobs" "failed [1-9]"
summary_has "jobs" "gone [1-9]"
summary_has "jobs" "stuck [1-9]"
summary_has "webhooks" "json [1-9][0-9]* received, [1-9][0-9]* verified, 0 rejected"
summary_has "API calls" "SigV4 checked by the fake: [1-9][0-9]* ok, 0 bad"
summary_has "error answers" "throttled \(429\) [1-9]"
summary_has "daemon" "exit 0"
grep -q "^demo OK" "$out" || fail "no 'demo OK' verdict"
# The failed job's statusDetails reach the live view.
grep -q "CREATE_FAILED  (INTERNAL_ERROR: seed audience too small)" "$out" ||
	fail "the failed job's statusDetails are not shown"
grep -q "signature ✓\|signature ok" "$out" || fail "no verified webhook in the live view"
# Secrets never appear: the demo's are random, so look for their shapes.
grep -Eq "whsec_[A-Za-z0-9+/]{8}" "$out" && fail "a webhook secret appears in the output"
grep -q "AWS_SECRET_ACCESS_KEY=" "$out" && fail "an AWS secret appears in the output"
# No temporary directory or child process is left behind.
dir=$(sed -n 's/^  state database *\(.*\)\/state.db$/\1/p' "$out" | head -n 1)
if [ -n "$dir" ] && [ -e "$dir" ]; then fail "temporary directory $dir left behind"; fi
if [ -n "$dir" ] && pgrep -f -- "$dir" >/dev/null; then fail "processes using $dir still running"; fi

if [ "$failures" -gt 0 ]; then
	echo "---- demo output ----"
	cat "$out"
	exit 1
fi
echo "PASS: test_demo ($(grep -c . "$out") lines of demo output)"
exit 0
