#!/bin/bash
# Runs inside tests/journal/run-journald.sh (a private journald).
#   check-fields.sh JOURNAL_SEND_BINARY CATALOG_FILE JOURNAL_H
# Sends a full and a minimal event through journal_send_event() and reads
# back every field with journalctl -o json; then installs the catalog in the
# private namespace and checks that journalctl -x explains the entry.
set -euo pipefail
SEND=$1 CATALOG=$2 HEADER=$3
ARN="arn:aws:cleanrooms-ml:us-east-1:111122223333:audience-generation-job/abcd-1234"
fail() { echo "FAIL: $*" >&2; exit 1; }

OUT=$("$SEND" full minimal)
FULL_ID=$(awk '$1 == "full" { print $2 }' <<<"$OUT")
MIN_ID=$(awk '$1 == "minimal" { print $2 }' <<<"$OUT")
[ ${#FULL_ID} = 32 ] && [ ${#MIN_ID} = 32 ] || fail "helper output: $OUT"
journalctl --sync

ID_CHANGED=$(sed -n 's/.*JOURNAL_MESSAGE_ID_JOB_STATUS_CHANGED[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$HEADER")
ID_DISCOVERED=$(sed -n 's/.*JOURNAL_MESSAGE_ID_JOB_DISCOVERED[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$HEADER")
[ ${#ID_CHANGED} = 32 ] && [ ${#ID_DISCOVERED} = 32 ] || fail "MESSAGE_IDs not found in $HEADER"

entry() { journalctl -D /run/log/journal -o json --no-pager "EVENT_ID=$1"; }
[ "$(entry "$FULL_ID" | wc -l)" = 1 ] || fail "expected exactly one entry for $FULL_ID"

# Every field of the full entry, exactly.
entry "$FULL_ID" | jq -e --arg arn "$ARN" --arg id "$FULL_ID" --arg mid "$ID_CHANGED" '
	.MESSAGE == "audience generation job \"weekly-lookalike\" CREATE_IN_PROGRESS → CREATE_FAILED: ValidationException: seed audience too small: 12%s rows see FOO=bar third line"
	and .MESSAGE_ID == $mid
	and .PRIORITY == "3"
	and .JOB_ARN == $arn
	and .JOB_NAME == "weekly-lookalike"
	and .JOB_STATUS == "CREATE_FAILED"
	and .JOB_PREVIOUS_STATUS == "CREATE_IN_PROGRESS"
	and .JOB_STATUS_CODE == "ValidationException"
	and .JOB_STATUS_MESSAGE == "seed audience too small: 12%s rows\nsee FOO=bar\nthird line"
	and .JOB_UPDATE_TIME == "2024-01-15T13:00:00.500Z"
	and .JOB_COLLABORATION_ID == "11111111-2222-3333-4444-555555555555"
	and .JOB_CONFIGURED_AUDIENCE_MODEL_ARN == "arn:aws:cleanrooms-ml:us-east-1:111122223333:configured-audience-model/cam-1"
	and .EVENT_ID == $id
	and .EVENT_TYPE == "job.status_changed"
	and .SYSLOG_IDENTIFIER == "journal_send"
	and ._TRANSPORT == "journal"
	and (has("CODE_FILE") | not)' >/dev/null || { entry "$FULL_ID" | jq . >&2; fail "full entry fields"; }

# Absent fields are omitted, not sent empty.
entry "$MIN_ID" | jq -e --arg arn "$ARN" --arg mid "$ID_DISCOVERED" '
	.MESSAGE == "audience generation job \"abcd-1234\" discovered in status CREATE_PENDING"
	and .MESSAGE_ID == $mid and .PRIORITY == "6" and .JOB_ARN == $arn
	and .JOB_STATUS == "CREATE_PENDING" and .EVENT_TYPE == "job.discovered"
	and ([has("JOB_NAME", "JOB_PREVIOUS_STATUS", "JOB_STATUS_CODE", "JOB_STATUS_MESSAGE",
		  "JOB_UPDATE_TIME", "JOB_COLLABORATION_ID", "JOB_CONFIGURED_AUDIENCE_MODEL_ARN")] | any | not)' \
	>/dev/null || { entry "$MIN_ID" | jq . >&2; fail "minimal entry fields"; }

# The operator's filter from the README.
[ "$(journalctl -D /run/log/journal -o json --no-pager JOB_STATUS=CREATE_FAILED | jq -r .EVENT_ID)" = "$FULL_ID" ] ||
	fail "JOB_STATUS=CREATE_FAILED filter"

# Catalog: an entry for every MESSAGE_ID in the header, with the headers
# CATALOG.md asks for.
for id in $(sed -n 's/^#define JOURNAL_MESSAGE_ID_[A-Z_]*[[:space:]]*"\([0-9a-f]\{32\}\)".*/\1/p' "$HEADER"); do
	awk -v id="$id" '
		$0 == "-- " id { inside = 1; next }
		inside && /^-- / { exit }
		inside && /^Subject: ./ { s = 1 }
		inside && $0 == "Defined-By: jobwatchd" { d = 1 }
		inside && $0 == "Documentation: man:jobwatchd(8)" { m = 1 }
		inside && /@JOB_ARN@/ { a = 1 }
		END { exit !(s && d && m && a) }' "$CATALOG" || fail "catalog entry for $id incomplete"
	n=$((${n:-0} + 1))
done
[ "${n:-0}" = 5 ] || fail "expected 5 MESSAGE_IDs in $HEADER, found ${n:-0}"

# Install it in the namespace's private catalog and let journalctl -x
# explain the entry, with the fields substituted.
cp "$CATALOG" /usr/lib/systemd/catalog/jobwatchd.catalog
journalctl --update-catalog
X=$(journalctl -D /run/log/journal -x --no-pager "EVENT_ID=$FULL_ID")
grep -q "Subject: Audience generation job changed from CREATE_IN_PROGRESS to CREATE_FAILED" <<<"$X" ||
	{ echo "$X" >&2; fail "journalctl -x subject"; }
grep -q "audience generation job $ARN" <<<"$X" || { echo "$X" >&2; fail "journalctl -x @JOB_ARN@"; }
grep -q "Defined-By: jobwatchd" <<<"$X" || fail "journalctl -x Defined-By"
X=$(journalctl -D /run/log/journal -x --no-pager "EVENT_ID=$MIN_ID")
grep -q "Subject: Audience generation job discovered in status CREATE_PENDING" <<<"$X" ||
	{ echo "$X" >&2; fail "journalctl -x discovered"; }
echo "PASS"
