#!/usr/bin/env bash
# Instructions per call, SDK against bare ureq and a raw socket, counted by
# valgrind's callgrind. Unlike times, these repeat from run to run on a busy
# machine. Each variant runs twice (N and 2N calls) and the difference is
# divided by N, so set-up is not counted. The loopback server's own work is
# the same for every variant and is included.
#
#   bash benches/instructions.sh [N]      (needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
cargo bench --bench calls --no-run >/dev/null 2>&1
bin=$(ls -t target/release/deps/calls-* | grep -v '\.d$' | head -n 1)
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

printf '%-8s %12s %12s %12s %12s   %s\n' operation sdk ureq ureq-nt tcp "sdk/ureq  sdk/ureq-nt"
for op in get list create update; do
  sdk=$(per_call "$op-sdk")
  ureq=$(per_call "$op-ureq")
  nt=$(per_call "$op-ureq-nt")
  tcp="-"
  [ "$op" = get ] && tcp=$(per_call get-tcp)
  ratio=$(awk -v a="$sdk" -v b="$ureq" -v c="$nt" 'BEGIN { printf "%.3f     %.3f", a / b, a / c }')
  printf '%-8s %12s %12s %12s %12s   %s\n' "$op" "$sdk" "$ureq" "$nt" "$tcp" "$ratio"
done
