#!/usr/bin/env bash
# Instructions executed by one-thread `daspack compress` and `daspack decompress` of each .npy, counted by valgrind's
# callgrind: deterministic, where seconds on a shared 2-core machine drift by 20-30 %. For comparing builds of the
# codec (e.g. BIN=/path/to/an/older/build/daspack); speed itself is measured by scripts/bench.sh.
# Usage: [BIN=target/release/daspack] scripts/instructions.sh FILE.npy...
set -euo pipefail
BIN="${BIN:-target/release/daspack}"
command -v valgrind > /dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 > /dev/null | sed -n 's/.*Collected : //p'; }
printf "%-45s %14s %14s\n" file compress decompress
for f in "$@"; do
    c=$(count "$BIN" compress --threads 1 "$f" "$tmp/x.dpk" --force)
    d=$(count "$BIN" decompress --threads 1 "$tmp/x.dpk" "$tmp/x.npy" --force)
    printf "%-45s %14s %14s\n" "$(basename "$f")" "$c" "$d"
done
