#!/usr/bin/env bash
# Instructions per call, SDK against bare ureq and a raw socket, and the
# renewing client (no renewal due) against the plain SDK, counted by
# valgrind's callgrind. Unlike times, these repeat from run to run on a busy
# machine. Each variant runs twice (N and 2N calls) and the difference is
# divided by N, so set-up is not counted. The loopback server's own work is
# the same for every variant and is included.
#
#   bash benches/instructions.sh [N]      (needs valgrind, and jq or python3)
#
# The bench executable's path is asked of cargo, so CARGO_TARGET_DIR,
# `build.target-dir` and the like are honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 1; }

# Build, and read the executable's path from cargo's JSON messages (one per
# line; the artifact of the `calls` bench target carries `executable`).
executable_of() { # target name, JSON messages on stdin -> path
  if command -v jq >/dev/null; then
    jq -r --arg name "$1" \
      'select(.reason == "compiler-artifact" and .target.name == $name and .executable != null) | .executable'
  elif command -v python3 >/dev/null; then
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])
' "$1"
  else
    echo "instructions.sh: needs jq or python3 to read cargo's output" >&2
    exit 1
  fi
}
bin=$(cargo bench --bench calls --no-run --message-format=json | executable_of calls | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "instructions.sh: cargo reported no executable for the calls bench" >&2
  exit 1
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

count() { # kind calls -> total instructions
  NEUROIO_BENCH_CALLS="$1:$2" valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bin" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_call() {
  local small large
  small=$(count "$1" "$n")
  large=$(count "$1" $((2 * n)))
  echo $(((large - small) / n))
}

printf '%-8s %12s %12s %12s %12s %12s   %s\n' operation sdk renewing ureq ureq-nt tcp \
  "sdk/ureq  sdk/ureq-nt  renewing/sdk"
for op in get list create update; do
  sdk=$(per_call "$op-sdk")
  ureq=$(per_call "$op-ureq")
  nt=$(per_call "$op-ureq-nt")
  tcp="-"
  [ "$op" = get ] && tcp=$(per_call get-tcp)
  # A list answer is not a token, so the bench's renewing client cannot mint.
  renewing="-"
  [ "$op" != list ] && renewing=$(per_call "$op-renewing")
  ratio=$(awk -v a="$sdk" -v b="$ureq" -v c="$nt" -v r="$renewing" 'BEGIN {
    printf "%.3f     %.3f", a / b, a / c
    if (r != "-") printf "        %.3f", r / a; else printf "        -"
  }')
  printf '%-8s %12s %12s %12s %12s %12s   %s\n' "$op" "$sdk" "$renewing" "$ureq" "$nt" "$tcp" "$ratio"
done
