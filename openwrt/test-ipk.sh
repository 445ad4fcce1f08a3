#!/usr/bin/env bash
# Unpacks an .ipk from build-ipk.sh and checks its layout and control fields:
#
#   bash openwrt/test-ipk.sh PACKAGE.ipk OPENWRT_ARCH [RUNNER...]
#
# RUNNER (e.g. qemu-aarch64-static) runs the packed binary's --version.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../packaging/lib.sh"

[ $# -ge 2 ] || die "usage: test-ipk.sh PACKAGE.ipk OPENWRT_ARCH [RUNNER...]"
ipk=$(readlink -f "$1") arch=$2
shift 2
runner=("$@")
version=$(zatan_version)-1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
same() { [ "$1" = "$2" ]; }

check "file name zatan_${version}_${arch}.ipk" same "${ipk##*/}" "zatan_${version}_${arch}.ipk"
check "an ar archive" sh -c "head -c 8 '$ipk' | grep -q '^!<arch>'"
check "members debian-binary, control.tar.gz, data.tar.gz in that order" \
    same "$(ar t "$ipk" | tr '\n' ' ')" "debian-binary control.tar.gz data.tar.gz "
(cd "$work" && ar x "$ipk")
check "debian-binary is 2.0" same "$(cat "$work/debian-binary")" "2.0"

mkdir "$work/control" "$work/data"
tar -xzf "$work/control.tar.gz" -C "$work/control"
tar -xzf "$work/data.tar.gz" -C "$work/data"

field() { sed -n "s/^$1: //p" "$work/control/control"; }
check "control: Package zatan" same "$(field Package)" zatan
check "control: Version $version" same "$(field Version)" "$version"
check "control: Architecture $arch" same "$(field Architecture)" "$arch"
check "control: Require-User zatan:zatan" same "$(field Require-User)" "zatan:zatan"
check "control: Installed-Size is the data's size in bytes" same "$(field Installed-Size)" "$(du -b -s "$work/data" | cut -f1)"
check "control: Description with a continuation line" sh -c "grep -q '^Description: .' '$work/control/control' && grep -q '^ zatan answers' '$work/control/control'"
check "control: every line is a field or a continuation" sh -c "! grep -v -e '^[A-Z][A-Za-z-]*: ' -e '^ ' '$work/control/control'"
check "conffiles: /etc/config/zatan" same "$(cat "$work/control/conffiles")" /etc/config/zatan
check "postinst calls default_postinst" grep -q 'default_postinst $0 $@' "$work/control/postinst"
check "prerm calls default_prerm" grep -q 'default_prerm $0 $@' "$work/control/prerm"
check "control members: control conffiles postinst prerm" \
    same "$(tar -tzf "$work/control.tar.gz" | sort | tr '\n' ' ')" "./ ./conffiles ./control ./postinst ./prerm "

# mode, owner and path of every file in data.tar.gz
listing=$(tar -tvzf "$work/data.tar.gz" | awk '$1 !~ /^d/ {print $1, $2, $6}' | sort -k3)
expected="-rw------- 0/0 ./etc/config/zatan
-rwxr-xr-x 0/0 ./etc/init.d/zatan
-rwxr-xr-x 0/0 ./usr/bin/zatan
-rwxr-xr-x 0/0 ./usr/libexec/zatan-uci2toml
-rw-r--r-- 0/0 ./usr/share/zatan/capabilities.json"
check "data: exactly the five files, root-owned, with their modes" same "$listing" "$expected"
check "data: directories 0755 root" sh -c "! tar -tvzf '$work/data.tar.gz' | awk '\$1 ~ /^d/ && (\$1 != \"drwxr-xr-x\" || \$2 != \"0/0\")' | grep -q ."

case $arch in
    aarch64_*) machine="ARM aarch64" ;;
    arm_*) machine="ARM, EABI5" ;;
    x86_64) machine="x86-64" ;;
    *) machine="?" ;;
esac
info=$(file -b "$work/data/usr/bin/zatan")
check "binary: $machine, static, stripped" sh -c "case '$info' in *'$machine'*'statically linked'*', stripped'*) true ;; *) false ;; esac"
check "binary: --version" same "$("${runner[@]}" "$work/data/usr/bin/zatan" --version 2>/dev/null)" "zatan $(zatan_version)"
check "init script: rc.common with procd" sh -c "head -n1 '$work/data/etc/init.d/zatan' | grep -qxF '#!/bin/sh /etc/rc.common' && grep -qx 'USE_PROCD=1' '$work/data/etc/init.d/zatan'"
check "init script and converter parse as POSIX sh" sh -c "dash -n '$work/data/etc/init.d/zatan' && dash -n '$work/data/usr/libexec/zatan-uci2toml'"
mkdir "$work/uci" "$work/uci-bin" && cp "$work/data/etc/config/zatan" "$work/uci/"
install_uci "$work/uci-bin"
check "UCI config parses (uci show)" sh -c "'$work/uci-bin/uci' -c '$work/uci' show zatan | grep -qx \"zatan.main.enabled='0'\""
check "capabilities.json is JSON naming only CAP_NET_BIND_SERVICE" /usr/bin/python3 -c "
import json, sys
caps = json.load(open('$work/data/usr/share/zatan/capabilities.json'))
sys.exit(not all(v == ['CAP_NET_BIND_SERVICE'] for v in caps.values()) or not caps)"

report "ipk-$arch"
