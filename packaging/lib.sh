# Helpers shared by the packaging scripts (sourced, bash).

# Root of the source tree.
ZATAN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Where packaging puts its tools (a Python venv with zig), its wrappers and its output.
ZATAN_TOOLS=${ZATAN_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/zatan-packaging}
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ZATAN_ROOT/target}
export CARGO_TARGET_DIR
ZATAN_OUT=${ZATAN_OUT:-$CARGO_TARGET_DIR/packages}

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { say "error: $*"; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PACKAGE...: installs those that are not installed yet.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || die "missing ${missing[*]}, and there is no apt-get to install them"
    say "installing ${missing[*]}"
    # another apt on the machine holds the lock for a while: wait for it
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -y -qq)
    if ! as_root "${apt[@]}" install "${missing[@]}" >/dev/null; then
        as_root "${apt[@]}" update >/dev/null
        as_root "${apt[@]}" install "${missing[@]}" >/dev/null || die "could not install ${missing[*]}"
    fi
}

# The version in Cargo.toml, which is what `zatan --version` prints.
zatan_version() {
    sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$ZATAN_ROOT/Cargo.toml" | head -n1
}

# Debian architecture name <-> Rust target triple <-> zig target.
deb_arch_of() {
    case $1 in
        aarch64-unknown-linux-musl) echo arm64 ;;
        armv7-unknown-linux-musleabihf) echo armhf ;;
        x86_64-unknown-linux-musl) echo amd64 ;;
        *) die "no Debian architecture known for $1" ;;
    esac
}
target_of_deb_arch() {
    case $1 in
        arm64) echo aarch64-unknown-linux-musl ;;
        armhf) echo armv7-unknown-linux-musleabihf ;;
        amd64) echo x86_64-unknown-linux-musl ;;
        *) die "unknown Debian architecture $1 (arm64, armhf, amd64)" ;;
    esac
}

# Where build-static.sh leaves the stripped binary for TARGET and PROFILE.
static_binary() {
    echo "$ZATAN_OUT/bin/$2/$1/zatan"
}

# ensure_static_binary TARGET PROFILE: that binary, built first when missing
# (build-static.sh's output goes to stderr).
ensure_static_binary() {
    local binary
    binary=$(static_binary "$1" "$2")
    [ -x "$binary" ] || bash "$ZATAN_ROOT/packaging/build-static.sh" --profile "$2" "$1" >&2 ||
        die "could not build $1 ($2)"
    echo "$binary"
}

# install_uci DIR: OpenWrt's `uci` command as DIR/uci, for the tests. libuci-sys
# (crates.io) ships the uci and libubox sources; its build script builds and
# installs them into its OUT_DIR.
install_uci() {
    apt_install cmake libclang-dev pkg-config
    (cd "$ZATAN_ROOT/packaging/uci-tool" && CARGO_TARGET_DIR=$CARGO_TARGET_DIR/uci-tool cargo build --locked -q) ||
        die "could not build uci (packaging/uci-tool)"
    local out
    out=$(ls -td "$CARGO_TARGET_DIR"/uci-tool/debug/build/libuci-sys-*/out 2>/dev/null | head -n1)
    [ -x "$out/bin/uci" ] || die "the uci build left no $out/bin/uci"
    mkdir -p "$1"
    printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@" </dev/null\n' "$out/lib" "$out/bin/uci" >"$1/uci"
    chmod 755 "$1/uci"
}

# parse_build_args "$@": --profile NAME (default release), -h/--help (prints the
# script's header comment, up to its first blank comment line), and the rest as
# the array `names`.
parse_build_args() {
    profile=release
    names=()
    while [ $# -gt 0 ]; do
        case $1 in
            --profile) profile=${2:?--profile needs a name}; shift 2 ;;
            --profile=*) profile=${1#*=}; shift ;;
            -h|--help) sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
            -*) die "unknown option $1" ;;
            *) names+=("$1"); shift ;;
        esac
    done
}

# WeChat's signature: sha1 of token, timestamp and nonce sorted byte-wise.
wechat_signature() { # TOKEN TIMESTAMP NONCE
    printf '%s\n' "$@" | LC_ALL=C sort | tr -d '\n' | sha1sum | cut -d' ' -f1
}

# wait_for_listen LOG PID: the address `zatan serve` logs once it listens, within
# 30 s; fails when PID exits first.
wait_for_listen() {
    local addr _
    for _ in $(seq 1 300); do
        addr=$(sed -n 's|.*listening on http://\([0-9.]*:[0-9]*\)/.*|\1|p' "$1" | head -n1)
        [ -n "$addr" ] && { echo "$addr"; return 0; }
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# Test bookkeeping: check DESCRIPTION COMMAND... runs the command quietly and
# counts; report NAME prints the "NAME: N passed, M failed" line packaging/test.sh
# adds up, and fails when anything did.
passed=0 failed=0
check() {
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then pass "$what"; else flunk "$what"; fi
}
pass() { passed=$((passed + 1)); say "ok: $*"; }
flunk() { failed=$((failed + 1)); say "FAIL: $*"; }
report() {
    echo "$1: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
