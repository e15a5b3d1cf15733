#!/usr/bin/env bash
# Runs every test of the project: Rust unit/integration tests, then each tests/*/run.sh (cross-language tests).
# Installs what it needs, idempotently. The shared DAS corpus (../shared) is used when present, skipped otherwise.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

mkdir -p target
log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo test --workspace"
start=$SECONDS
cargo test --workspace --all-targets 2>&1 | tee target/cargo-test.log
cargo test --workspace --doc 2>&1 | tee -a target/cargo-test.log
# Seconds per step, printed at the end: the whole command must stay under 30 minutes on a fresh 2-core machine.
times=("cargo test: $((SECONDS - start)) s")

failed=()
for t in tests/*/run.sh; do
    [ -e "$t" ] || continue
    log "$t"
    start=$SECONDS
    if bash "$t"; then echo "ok: $t"; else echo "FAILED: $t"; failed+=("$t"); fi
    times+=("$t: $((SECONDS - start)) s")
done

passed=$(grep -Eo '[0-9]+ passed' target/cargo-test.log | awk '{s+=$1} END {print s+0}')
fails=$(grep -Eo '[0-9]+ failed' target/cargo-test.log | awk '{s+=$1} END {print s+0}')
echo
printf '%s\n' "${times[@]}"
echo "total: $SECONDS s"
echo "cargo: $passed passed, $fails failed; suites: ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
