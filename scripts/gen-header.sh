#!/usr/bin/env bash
# Regenerates include/daspack.h from crates/capi with cbindgen (the version pinned in crates/capi/Cargo.toml), by
# running the header drift test in "bless" mode. Commit the result with the change that caused it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
DASPACK_BLESS_HEADER=1 cargo test -q -p daspack-capi --test header -- committed_header_matches_generation
log "include/daspack.h regenerated"
