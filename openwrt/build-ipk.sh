#!/usr/bin/env bash
# Packs zatan_<version>-1_<arch>.ipk from the static binary, without the OpenWrt SDK:
#
#   bash openwrt/build-ipk.sh [--profile release|release-small] [OPENWRT_ARCH...]
#
# OPENWRT_ARCH is what `opkg print-architecture` shows on the router:
# aarch64_generic, aarch64_cortex-a53, aarch64_cortex-a72 ... (the aarch64 binary),
# arm_cortex-a7, arm_cortex-a7_neon-vfpv4, arm_cortex-a15_neon-vfpv4 ... (the ARMv7
# hard-float binary: needs a VFP unit), x86_64. Default: aarch64_generic and
# arm_cortex-a7. A binary that is not built yet is built by packaging/build-static.sh.
# The package is an ar archive of debian-binary, control.tar.gz and data.tar.gz,
# with the same files, control fields and scripts as the SDK build of openwrt/zatan.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../packaging/lib.sh"
files=$here/zatan/files

parse_build_args "$@"
arches=("${names[@]}")
[ ${#arches[@]} -gt 0 ] || arches=(aarch64_generic arm_cortex-a7)

target_of_openwrt_arch() {
    case $1 in
        aarch64_*) echo aarch64-unknown-linux-musl ;;
        # ARMv7 cores; plain arm_cortex-a9 is left out: some have no FPU
        arm_cortex-a7|arm_cortex-a7_*|arm_cortex-a8_*|arm_cortex-a9_*|arm_cortex-a15_*|arm_cortex-a17_*|arm_cortex-a53_*)
            echo armv7-unknown-linux-musleabihf ;;
        x86_64) echo x86_64-unknown-linux-musl ;;
        *) die "no zatan binary for OpenWrt architecture $1 (ARMv7 with VFP, aarch64 or x86_64; MIPS is not supported)" ;;
    esac
}
for arch in "${arches[@]}"; do target_of_openwrt_arch "$arch" >/dev/null; done

apt_install binutils
version=$(zatan_version)-1
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ZATAN_ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}
# tar members owned by root, dated by the last commit, in a stable order
tar_gz() { # ARCHIVE DIR
    (cd "$2" && tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name \
        --mtime="@$SOURCE_DATE_EPOCH" -cf - .) | gzip -9n >"$1"
}

mkdir -p "$ZATAN_OUT"
for arch in "${arches[@]}"; do
    target=$(target_of_openwrt_arch "$arch")
    binary=$(ensure_static_binary "$target" "$profile")

    work=$ZATAN_OUT/ipk-stage/$arch
    rm -rf "$work"
    data=$work/data control=$work/control
    install -d -m 0755 "$data/usr/bin" "$data/usr/libexec" "$data/usr/share/zatan" \
        "$data/etc/init.d" "$data/etc/config" "$control"
    install -m 0755 "$binary" "$data/usr/bin/zatan"
    install -m 0755 "$files/zatan-uci2toml" "$data/usr/libexec/zatan-uci2toml"
    install -m 0755 "$files/zatan.init" "$data/etc/init.d/zatan"
    install -m 0600 "$files/zatan.config" "$data/etc/config/zatan"
    install -m 0644 "$files/capabilities.json" "$data/usr/share/zatan/capabilities.json"

    cat >"$control/control" <<EOF
Package: zatan
Version: $version
Depends: libc
Source: openwrt/zatan
SourceName: zatan
License: MIT Apache-2.0
LicenseFiles: LICENSE
Section: net
Require-User: zatan:zatan
Architecture: $arch
Installed-Size: $(du -b -s "$data" | cut -f1)
Description: WeChat Official Account server
 zatan answers a WeChat Official Account's callbacks (plaintext, compatible
 and safe mode), runs its chat commands, offers pictures and converts
 e-books for Kindle: one static binary with its state in one file, set up
 with UCI (/etc/config/zatan) and run by procd as user zatan.
EOF
    echo /etc/config/zatan >"$control/conffiles"
    # The scripts the OpenWrt build system writes for every package: the user
    # from Require-User, init script enable/start, and the reverse on removal.
    cat >"$control/postinst" <<'EOF'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
EOF
    cat >"$control/prerm" <<'EOF'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
EOF
    chmod 0755 "$control/postinst" "$control/prerm"
    chmod 0644 "$control/control" "$control/conffiles"

    echo "2.0" >"$work/debian-binary"
    tar_gz "$work/control.tar.gz" "$control"
    tar_gz "$work/data.tar.gz" "$data"
    touch -d "@$SOURCE_DATE_EPOCH" "$work/debian-binary" "$work/control.tar.gz" "$work/data.tar.gz"

    ipk=$ZATAN_OUT/zatan_${version}_${arch}.ipk
    rm -f "$ipk"
    # D: deterministic (zero uid/gid/mtime); the members in the order opkg expects
    (cd "$work" && ar rcD "$ipk" debian-binary control.tar.gz data.tar.gz)
    say "$ipk ($(stat -c %s "$ipk") bytes)"
done
