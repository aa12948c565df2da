#!/usr/bin/env bash
# Interop check of auditlog against Go's reference code (golang.org/x/mod/sumdb/note and
# sumdb/tlog, crypto/ed25519): starts a fresh log with `node bin/auditlog.js serve`, feeds it
# in stages and runs the Go checker (main.go) after each stage. See spec/interop.md.
#
#   tools/interop-go/run.sh            # stages of 1, 300 and 1,000 entries
#   N=70000 tools/interop-go/run.sh    # last stage with 70,000 entries (crosses a level-2 tile)
#
# Needs: go (Debian golang-go, 1.19+), golang-golang-x-mod-dev (x/mod 0.7.0 sources under
# /usr/share/gocode/src), node and a built auditlog (npm run build), curl. No network.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${N:-1000}
STAGES=${STAGES:-"1 300 $N"}
XMOD=/usr/share/gocode/src/golang.org/x/mod

command -v go >/dev/null || { echo "run.sh: go not found: apt-get install -y golang-go golang-golang-x-mod-dev" >&2; exit 2; }
[ -d "$XMOD/sumdb/tlog" ] || { echo "run.sh: $XMOD missing: apt-get install -y golang-golang-x-mod-dev" >&2; exit 2; }
[ -f "$ROOT/dist/src/cli/main.js" ] || { echo "run.sh: auditlog is not built: cd $ROOT && npm run build" >&2; exit 2; }

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

echo "== building the Go checker ($(go version | cut -d' ' -f3), x/mod from $XMOD, offline)"
(cd "$HERE" && GOPROXY=off GOFLAGS=-mod=mod GOWORK=off go build -o "$TMP/interop-go" .)

echo "== starting auditlog serve"
(cd "$ROOT" && exec node bin/auditlog.js serve --data "$TMP/data" --port 0) >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 300); do
  grep -q '^auditlog: listening on ' "$TMP/serve.out" && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/serve.out" "$TMP/serve.err" >&2; echo "run.sh: server exited" >&2; exit 1; }
  sleep 0.1
done
URL=$(sed -n 's/^auditlog: listening on //p' "$TMP/serve.out")
VKEY=$(sed -n 's/^auditlog: vkey //p' "$TMP/serve.out")
ADMIN=$(sed -n 's/^auditlog: admin token //p' "$TMP/serve.out")
[ -n "$URL" ] && [ -n "$VKEY" ] && [ -n "$ADMIN" ] || { cat "$TMP/serve.out" >&2; echo "run.sh: could not parse the serve output" >&2; exit 1; }
echo "log   $URL"
echo "vkey  $VKEY"

SUBMITTER=$(curl -sf -X POST "$URL/v1/tokens" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"role":"submitter","name":"interop-go"}' |
  sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$SUBMITTER" ] || { echo "run.sh: POST /v1/tokens gave no token" >&2; exit 1; }
echo "submitter token created"

status=0
done_n=0
old=()
for target in $STAGES; do
  if [ "$target" -gt "$done_n" ]; then
    echo "== submitting entries $done_n..$((target - 1))"
    "$TMP/interop-go" submit -log "$URL" -token "$SUBMITTER" -from "$done_n" -to "$target"
    done_n=$target
  fi
  echo "== Go checker (after $done_n submitted entries)"
  if ! "$TMP/interop-go" -log "$URL" -vkey "$VKEY" -token "$SUBMITTER" -post 3 "${old[@]}"; then
    status=1
  fi
  # The checkpoint now served becomes the "older checkpoint" of the next stage.
  curl -sf "$URL/checkpoint" >"$TMP/old.checkpoint"
  old=(-old-checkpoint "$TMP/old.checkpoint")
done

if [ "$status" -eq 0 ]; then echo "== interop-go: all checks passed"; else echo "== interop-go: FAILURES above"; fi
exit "$status"
