#!/usr/bin/env bash
# MATLAB wrapper test with GNU Octave: installs libdaspack into a temporary prefix (cargo cinstall), builds the MEX
# file with matlab/build.m (mkoctfile --mex, found through pkg-config), and runs matlab/test_daspack.m, which
# round-trips int16/int32/uint16/single/double arrays and checks the error paths. Last line: `N passed, M failed`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/../../scripts/lib.sh"
cd "$ROOT"
ensure_apt octave octave-dev pkg-config
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
log "cargo cinstall into $TMP/prefix"
if ! cinstall_capi "$TMP/prefix" >"$TMP/cinstall.log" 2>&1; then
    tail -40 "$TMP/cinstall.log"
    echo "0 passed, 1 failed"
    exit 1
fi
export PKG_CONFIG_PATH="$TMP/prefix/lib/pkgconfig"
export LD_LIBRARY_PATH="$TMP/prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cp matlab/*.m matlab/daspack_mex.c "$TMP/"
cd "$TMP"
log "building the MEX file with Octave"
octave-cli --no-gui --eval "build" >/dev/null
log "running test_daspack.m"
octave-cli --no-gui test_daspack.m
