#!/usr/bin/env bash
# The README's walk-through, as a script: `make test` runs it against a fresh stack so
# the README cannot rot. Needs AIRLOCK (the stack's URL) and TOKEN (a dev token).
set -euo pipefail
: "${AIRLOCK:?set AIRLOCK to the stack URL}" "${TOKEN:?set TOKEN to a dev token}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "walkthrough: $*" >&2; exit 1; }
# Polls a file until it reaches a status; fails after 10 s.
wait_for() {
  local file=$1 want=$2 status=
  for _ in $(seq 1 100); do
    status=$(curl -sS "$AIRLOCK/v1/files/$file" -H "Authorization: Bearer $TOKEN" | jq -r .status)
    [ "$status" = "$want" ] && return 0
    sleep 0.1
  done
  fail "file $file ended $status, not $want"
}

# 1. A small CSV to upload.
printf 'id,name\n1,alice\n2,bob\n' > "$work/people.csv"

# 2. Ask for an upload: name, declared type and exact size.
curl -sS -X POST "$AIRLOCK/v1/files" \
  -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "{\"name\":\"people.csv\",\"content_type\":\"text/csv\",\"size\":$(stat -c %s "$work/people.csv")}" \
  > "$work/created.json"
FILE=$(jq -r .file.id "$work/created.json")
URL=$(jq -r .upload.url "$work/created.json")
[ "$(jq -r .file.status "$work/created.json")" = PENDING ] || fail "new file is not PENDING"

# 3. Send the bytes to the presigned URL with the headers it was signed for.
curl -sS -f -X PUT "$URL" -H 'content-type: text/csv' -H 'if-none-match: *' \
  --data-binary @"$work/people.csv"

# 4. Ingest verifies it within moments: PENDING -> CLEAN.
wait_for "$FILE" CLEAN

# 5. Download it through a presigned GET: the same bytes come back.
DOWNLOAD=$(curl -sS "$AIRLOCK/v1/files/$FILE/download" -H "Authorization: Bearer $TOKEN" | jq -r .url)
curl -sS -f -o "$work/back.csv" "$DOWNLOAD"
cmp -s "$work/people.csv" "$work/back.csv" || fail "downloaded bytes differ"

# 6. A disguised executable is REJECTED, with the reason, and cannot be downloaded.
head -c 64 /proc/self/exe > "$work/cat.png"
curl -sS -X POST "$AIRLOCK/v1/files" \
  -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"name":"cat.png","content_type":"image/png","size":64}' > "$work/bad.json"
BAD=$(jq -r .file.id "$work/bad.json")
curl -sS -f -X PUT "$(jq -r .upload.url "$work/bad.json")" \
  -H 'content-type: image/png' -H 'if-none-match: *' --data-binary @"$work/cat.png"
wait_for "$BAD" REJECTED
REASON=$(curl -sS "$AIRLOCK/v1/files/$BAD" -H "Authorization: Bearer $TOKEN" | jq -r '.verdict.reasons[0].code')
[ "$REASON" = type_mismatch ] || fail "rejection reason is $REASON"
CODE=$(curl -sS -o /dev/null -w '%{http_code}' "$AIRLOCK/v1/files/$BAD/download" -H "Authorization: Bearer $TOKEN")
[ "$CODE" = 409 ] || fail "download of a rejected file answered $CODE"

# 7. Usage counters.
curl -sS "$AIRLOCK/v1/usage" -H "Authorization: Bearer $TOKEN" | jq -e '.by_status.CLEAN.files >= 1' >/dev/null \
  || fail "usage does not count the clean file"
echo "walkthrough: ok (CLEAN $FILE, REJECTED $BAD)"
