#!/usr/bin/env bash
# Fuzz smoke test: builds every cargo-fuzz target of fuzz/ once, then runs each for FUZZ_SECONDS (default 10) on a
# corpus seeded by fuzz/make_seeds.sh, with libFuzzer's memory limits (-rss_limit_mb / -malloc_limit_mb = 512), so
# a panic, a sanitizer report, a timeout or an over-allocation fails the suite. Prints executions and coverage per
# target; the last line is `N passed, M failed`. Longer runs for maintainers: fuzz/README.md.
#
# Environment: FUZZ_SECONDS (per target), FUZZ_TARGETS (space-separated subset), FUZZ_JOBS (targets run at the same
# time, default: 2 on 2+ cores), FUZZ_TARGET_DIR (build output, corpora, logs and crash artifacts; default
# ${CARGO_TARGET_DIR:-target}/fuzz), FUZZ_CODEGEN_UNITS (codegen units of the build; cargo-fuzz's default is 1).
# The stable toolchain runs cargo-fuzz with RUSTC_BOOTSTRAP=1 (it needs -Zsanitizer).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/lib.sh"
cd "$ROOT"

SECS="${FUZZ_SECONDS:-10}"
OUTDIR="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$ROOT/target}/fuzz}"
CARGO_FUZZ_VERSION="${CARGO_FUZZ_VERSION:-0.13.2}"
JOBS="${FUZZ_JOBS:-$(($(nproc) >= 2 ? 2 : 1))}"
export RUSTC_BOOTSTRAP=1

# Largest input per target: each keeps the allocations its format allows for an input (the codec targets cap the
# arrays they decode whole at 64 MB, zstd chunks allow 32768x) under the 512 MB limits.
declare -A MAX_LEN=(
    [entropy_range]=8192 [entropy_rans]=8192 [entropy_bytes]=16384 [codec_stream]=2048 [codec_roundtrip]=16384 [sensor_stream]=4096
    [sensor_roundtrip]=8192 [blosc_chunk]=4096 [bloscpack_file]=4096 [dpk_archive]=4096 [hdf5_filter]=2048
    [capi_decode]=2048
)
ALL=(entropy_range entropy_rans entropy_bytes codec_stream codec_roundtrip sensor_stream sensor_roundtrip blosc_chunk bloscpack_file
    dpk_archive hdf5_filter)
FEATURES=()
if [ -f crates/capi/src/lib.rs ]; then
    ALL+=(capi_decode)
    FEATURES=(--features capi)
fi
read -r -a TARGETS <<<"${FUZZ_TARGETS:-${ALL[*]}}"

cargo fuzz --version >/dev/null 2>&1 || install_tool cargo-fuzz "$CARGO_FUZZ_VERSION"
command -v c++ >/dev/null || ensure_apt g++ # libfuzzer-sys compiles libFuzzer

log "building fuzz targets (cargo fuzz build -O -a: optimised, with debug assertions and overflow checks)"
BUILD=(cargo fuzz build -O -a --fuzz-dir fuzz --target-dir "$OUTDIR/build")
[ -n "${FUZZ_CODEGEN_UNITS:-}" ] && BUILD+=(--codegen-units "$FUZZ_CODEGEN_UNITS")
build_failed=()
if ! "${BUILD[@]}" "${FEATURES[@]}"; then
    if [ ${#FEATURES[@]} -gt 0 ]; then
        # The C ABI crate may be mid-change: keep fuzzing everything else, and report its target as failed.
        log "build with the C ABI target failed; building the other targets"
        "${BUILD[@]}"
        build_failed=(capi_decode)
    else
        exit 1
    fi
fi
BIN="$OUTDIR/build/x86_64-unknown-linux-gnu/release"

log "seed corpora (fuzz/make_seeds.sh)"
bash fuzz/make_seeds.sh "$OUTDIR/seeds" >/dev/null

mkdir -p "$OUTDIR/corpus" "$OUTDIR/logs" "$OUTDIR/artifacts"
# Runs target $1 for $SECS seconds; its log goes to $OUTDIR/logs/$1.log.
run_target() {
    local t="$1"
    mkdir -p "$OUTDIR/corpus/$t"
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0:quarantine_size_mb=32}" \
        "$BIN/$t" "$OUTDIR/corpus/$t" "$OUTDIR/seeds/$t" \
        -max_total_time="$SECS" -max_len="${MAX_LEN[$t]:-4096}" -timeout=60 \
        -rss_limit_mb=512 -malloc_limit_mb=512 -print_final_stats=1 \
        -artifact_prefix="$OUTDIR/artifacts/$t-" >"$OUTDIR/logs/$t.log" 2>&1
}

log "fuzzing ${#TARGETS[@]} targets, ${SECS}s each, $JOBS at a time"
declare -A STATUS=()
pids=()
names=()
for t in "${TARGETS[@]}"; do
    if [[ " ${build_failed[*]} " == *" $t "* ]]; then
        STATUS[$t]=build
        continue
    fi
    run_target "$t" &
    pids+=($!)
    names+=("$t")
    if [ ${#pids[@]} -ge "$JOBS" ]; then
        if wait "${pids[0]}"; then STATUS[${names[0]}]=0; else STATUS[${names[0]}]=$?; fi
        pids=("${pids[@]:1}")
        names=("${names[@]:1}")
    fi
done
for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then STATUS[${names[$i]}]=0; else STATUS[${names[$i]}]=$?; fi
done

# stat_of NAME LOG: the value of libFuzzer's final `stat::NAME:` line (-print_final_stats=1).
stat_of() {
    grep -Eo "stat::$1: *[0-9]+" "$2" 2>/dev/null | grep -Eo '[0-9]+$' | tail -1 || true
}

passed=0
failed=0
printf '\n%-18s %-6s %12s %8s %8s %7s\n' target result executions exec/s cov corpus
for t in "${TARGETS[@]}"; do
    st="${STATUS[$t]:-missing}"
    logf="$OUTDIR/logs/$t.log"
    runs="$(stat_of number_of_executed_units "$logf")"
    speed="$(stat_of average_exec_per_sec "$logf")"
    cov="$(grep -Eo 'cov: [0-9]+' "$logf" 2>/dev/null | tail -1 | grep -Eo '[0-9]+' || true)"
    corp="$(grep -Eo 'corp: [0-9]+' "$logf" 2>/dev/null | tail -1 | grep -Eo '[0-9]+' || true)"
    if [ "$st" = 0 ]; then
        result=ok
        passed=$((passed + 1))
    else
        result=FAIL
        failed=$((failed + 1))
    fi
    printf '%-18s %-6s %12s %8s %8s %7s\n' "$t" "$result" "${runs:--}" "${speed:--}" "${cov:--}" "${corp:--}"
    if [ "$result" = FAIL ]; then
        if [ "$st" = build ]; then
            echo "    $t: did not build (see the cargo fuzz build output above)"
        else
            echo "    $t: exit status $st; log $logf; artifacts $OUTDIR/artifacts/$t-*"
            grep -E 'ERROR: |panicked at|SUMMARY: |Test unit written to' "$logf" | head -8 | sed 's/^/    /' || true
        fi
    fi
done
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
