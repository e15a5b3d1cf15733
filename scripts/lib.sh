# Shared helpers for the project's scripts: idempotent installs on a fresh Debian machine (run as root).
# Source it; every function is safe to call twice.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${DASPACK_SHARED:-$ROOT/../shared}"
VENV="${DASPACK_VENV:-$ROOT/target/test-venv}"

log() { printf '\n==> %s\n' "$*" >&2; }

# ensure_apt PKG...: installs the Debian packages that are missing.
ensure_apt() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if [ ! -f /tmp/.daspack-apt-updated ]; then apt-get update -qq && touch /tmp/.daspack-apt-updated; fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_python: python3, with the venv module.
ensure_python() {
    if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        ensure_apt python3 python3-venv
    fi
}

# ensure_venv PIP_ARGS...: a Python venv at $VENV with the given requirements.
ensure_venv() {
    ensure_python
    if [ ! -x "$VENV/bin/python" ]; then
        log "python venv at $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --upgrade pip
    fi
    [ $# -gt 0 ] && "$VENV/bin/pip" install -q "$@"
    return 0
}

# install_tool CRATE VERSION: `cargo install`s a build tool, unoptimised. The tools only drive cargo and rustc, so
# their own speed is lost in the compile they start (a warm `cargo cinstall`: 7.5 s either way), while building
# them optimised is a large part of a fresh machine's test run (measured on 2 cores: cargo-c 13m17s -> 4m31s,
# cargo-fuzz 61 s -> 32 s).
install_tool() {
    log "cargo install $1 $2 (unoptimised)"
    CARGO_PROFILE_RELEASE_OPT_LEVEL=0 cargo install "$1" --version "$2" --locked
}

# cinstall_capi PREFIX: installs libdaspack with cargo-c into PREFIX (libraries in PREFIX/lib), installing cargo-c
# first when it is missing. cargo-c builds in its own target dir: its settings differ from a plain
# `cargo build --release`, so in a shared one each rebuilt the other's crates (47 crates, 1m44s on 2 cores).
CARGO_C_VERSION="0.10.24+cargo-0.98.0"
cinstall_capi() {
    cargo cinstall --version >/dev/null 2>&1 || install_tool cargo-c "$CARGO_C_VERSION"
    cargo cinstall --release -p daspack-capi --target-dir "${CARGO_TARGET_DIR:-$ROOT/target}/cinstall" \
        --prefix "$1" --libdir "$1/lib"
}
