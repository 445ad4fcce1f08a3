#!/usr/bin/env bash
# Builds stripped, fully static musl binaries of zatan without Docker:
#
#   bash packaging/build-static.sh [--profile release|release-small] [TARGET...]
#
# TARGET is aarch64-unknown-linux-musl, armv7-unknown-linux-musleabihf or
# x86_64-unknown-linux-musl (all three when none is given). The binaries land in
# $CARGO_TARGET_DIR/packages/bin/PROFILE/TARGET/zatan (CARGO_TARGET_DIR defaults to ./target).
#
# The route (see the README's "Building the packages"): Debian's rustc-web with its
# std sources (rust-web-src) builds std for the target (-Zbuild-std), and zig, from
# PyPI, is the C compiler and linker and brings musl for every target. It installs
# what it needs: apt packages rustc-web, cargo-web, rust-web-src, python3-venv, file;
# the PyPI package ziglang in a venv under $ZATAN_TOOLS (~/.cache/zatan-packaging).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

parse_build_args "$@"
targets=("${names[@]}")
[ ${#targets[@]} -gt 0 ] || targets=(aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf x86_64-unknown-linux-musl)

zig_target_of() {
    case $1 in
        aarch64-unknown-linux-musl) echo aarch64-linux-musl ;;
        armv7-unknown-linux-musleabihf) echo arm-linux-musleabihf ;;
        x86_64-unknown-linux-musl) echo x86_64-linux-musl ;;
        *) die "unsupported target $1 (aarch64-unknown-linux-musl, armv7-unknown-linux-musleabihf, x86_64-unknown-linux-musl)" ;;
    esac
}
for t in "${targets[@]}"; do zig_target_of "$t" >/dev/null; done

# --- tools -------------------------------------------------------------------
apt_install rustc-web cargo-web rust-web-src python3-venv file
RUSTC=/usr/bin/rustc
CARGO=/usr/bin/cargo
# rustup's rustc comes first on PATH and its std does not match Debian's sources
export RUSTC
rust_minor() { "$RUSTC" --version | sed -n 's/^rustc 1\.\([0-9]*\).*/\1/p'; }
if [ "$(rust_minor)" -lt 90 ] 2>/dev/null; then
    # stale package lists install an older rustc-web: refresh them and upgrade
    say "$("$RUSTC" --version) is too old: refreshing the package lists for a newer rustc-web"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -y -qq update >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 -y -qq install rustc-web cargo-web rust-web-src >/dev/null
fi
rust_minor=$(rust_minor)
[ "${rust_minor:-0}" -ge 90 ] || die "$RUSTC is $("$RUSTC" --version); zatan needs 1.90 or newer (rustc-web from bookworm-security)"
[ -d /usr/lib/rustlib/src/rust/library ] || die "std sources missing at /usr/lib/rustlib/src/rust (apt install rust-web-src)"

# the zig these builds were tested with; another may link differently
zig_version=0.17.0
venv=$ZATAN_TOOLS/venv
if [ "$("$venv/bin/python" -m ziglang version 2>/dev/null)" != "$zig_version" ]; then
    say "installing zig $zig_version (PyPI ziglang) into $venv"
    # Debian's own python3: its venv module is what python3-venv provides
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "ziglang==$zig_version"
fi
say "zig $("$venv/bin/python" -m ziglang version), $("$RUSTC" --version)"

# cc and ar wrappers: zig refuses the --target=<rust triple> the cc crate adds.
wrappers=$ZATAN_TOOLS/wrappers
mkdir -p "$wrappers"
write_wrapper() { # FILE CONTENT
    if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
        printf '%s\n' "$2" >"$1.tmp" && chmod 755 "$1.tmp" && mv "$1.tmp" "$1"
    fi
}
write_wrapper "$wrappers/zig-ar" "#!/bin/sh
exec '$venv/bin/python' -m ziglang ar \"\$@\""

export RUSTC_BOOTSTRAP=1   # -Zbuild-std on a stable compiler
target_args=()
for target in "${targets[@]}"; do
    zt=$(zig_target_of "$target")
    cc=$wrappers/$zt-cc
    write_wrapper "$cc" "#!/bin/sh
n=\$#
while [ \$n -gt 0 ]; do
    a=\$1; shift; n=\$((n - 1))
    case \$a in --target=*) ;; *) set -- \"\$@\" \"\$a\" ;; esac
done
exec '$venv/bin/python' -m ziglang cc -target $zt \"\$@\""

    up=$(echo "$target" | tr 'a-z-' 'A-Z_')
    low=$(echo "$target" | tr '-' '_')
    # zig brings crt1.o, musl's libc.a and libunwind; the build-std sysroot has no
    # self-contained crt objects to offer.
    export "CARGO_TARGET_${up}_LINKER=$cc"
    # For size (see Cargo.toml's release profile): no unwind tables, as
    # panics abort; no file:line:column strings for panic messages.
    flags="-C link-self-contained=no -C target-feature=+crt-static -C force-unwind-tables=no -Zlocation-detail=none"
    # Thumb-2 instead of A32 on armv7: 2,365,728 instead of 3,240,224 bytes.
    [ "$target" != armv7-unknown-linux-musleabihf ] || flags="$flags -C target-feature=+thumb-mode"
    export "CARGO_TARGET_${up}_RUSTFLAGS=$flags"
    export "CC_${low}=$cc" "AR_${low}=$wrappers/zig-ar"
    target_args+=(--target "$target")
done

# One cargo run for every target: build scripts and proc macros are built once.
say "building ${targets[*]} ($profile)"
start=$(date +%s)
(cd "$ZATAN_ROOT" && "$CARGO" build --locked --profile "$profile" --bin zatan \
    -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size "${target_args[@]}")
say "built in $(( $(date +%s) - start )) s"

mkdir -p "$ZATAN_OUT"
for target in "${targets[@]}"; do
    built=$CARGO_TARGET_DIR/$target/$profile/zatan
    info=$(file -b "$built")
    case $info in
        *"statically linked"*|*"static-pie linked"*) ;;
        *) die "$built is not static: $info" ;;
    esac
    case $info in *", stripped"*) ;; *) die "$built is not stripped: $info" ;; esac

    out=$(static_binary "$target" "$profile")
    mkdir -p "$(dirname "$out")"
    cp "$built" "$out.tmp" && mv "$out.tmp" "$out"
    say "$target: $(stat -c %s "$out") bytes: $out"
    say "  $info"
done
