#!/usr/bin/env bash
# The packaging tests, from a bare Debian machine (run as root: it installs the
# tools it needs and installs and purges the amd64 package):
#
#   bash packaging/test.sh
#
# 1. static musl binaries for aarch64, armv7 and x86_64 (packaging/build-static.sh),
#    and their sizes against the limits (aarch64 3.0 MiB, armv7 2.8 MiB, x86_64 3.3 MiB;
#    over is a failure)
# 2. a smoke test of each, the ARM ones under qemu-user (packaging/smoke-test.sh)
# 3. the arm64, armhf and amd64 .debs, and lintian on each (no errors allowed)
# 4. the amd64 .deb installed, checked, removed and purged here (packaging/deb/test-install.sh)
# 5. the aarch64_generic and arm_cortex-a7 .ipks, unpacked and checked (openwrt/test-ipk.sh)
# 6. the UCI to TOML converter against real uci, busybox and zatan (openwrt/test-uci2toml.sh)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ZATAN_ROOT"

started=$(date +%s)
[ "$(id -u)" -eq 0 ] || die "run as root: the test installs and purges the amd64 package"
apt_install qemu-user-static file binutils curl lintian dpkg-dev python3 busybox dash adduser systemd

passed=0 failed=0
failures=()
# suite NAME COMMAND...: a script that ends with "N passed, M failed" adds its
# counts; any other command counts as one test.
suite() {
    local name=$1 log counts
    shift
    log=$(mktemp)
    say "--- $name"
    if "$@" 2>&1 | tee "$log"; then status=0; else status=$?; fi
    counts=$(grep -Eo '^[A-Za-z0-9_.-]+: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1 || true)
    if [ -n "$counts" ]; then
        passed=$((passed + $(echo "$counts" | sed 's/.*: \([0-9]*\) passed.*/\1/')))
        failed=$((failed + $(echo "$counts" | sed 's/.* \([0-9]*\) failed$/\1/')))
        if [ "$status" -ne 0 ] && ! echo "$counts" | grep -q ' [1-9][0-9]* failed$'; then
            failed=$((failed + 1))
        fi
    elif [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
    [ "$status" -eq 0 ] || failures+=("$name")
    rm -f "$log"
}

timed() { # LABEL COMMAND...: runs it and says how long it took
    local t0=$(date +%s) label=$1
    shift
    "$@"
    say "$label took $(( $(date +%s) - t0 )) s"
}

bin() { static_binary "$1" release; }
a64=aarch64-unknown-linux-musl arm=armv7-unknown-linux-musleabihf x64=x86_64-unknown-linux-musl

suite build timed "static build" bash packaging/build-static.sh "$a64" "$arm" "$x64"

# A router's flash: the stripped static binaries' size limits, in bytes
# (3.0, 2.8 and 3.3 MiB).
size_limit_of() {
    case $1 in
        "$a64") echo 3145728 ;;
        "$arm") echo 2936012 ;;
        "$x64") echo 3460300 ;;
    esac
}
# check_size TARGET: fails when the binary is over its limit.
check_size() {
    local size limit
    size=$(stat -c %s "$(bin "$1")") limit=$(size_limit_of "$1")
    say "size $1: $size bytes (limit $limit)"
    [ "$size" -le "$limit" ] && return 0
    say "$1 is $((size - limit)) bytes over its limit"
    return 1
}
for t in "$a64" "$arm" "$x64"; do
    [ -f "$(bin "$t")" ] && suite "size-${t%%-*}" check_size "$t"
done

suite smoke-aarch64 bash packaging/smoke-test.sh "$(bin "$a64")" qemu-aarch64-static
suite smoke-armv7 bash packaging/smoke-test.sh "$(bin "$arm")" qemu-arm-static
suite smoke-x86_64 bash packaging/smoke-test.sh "$(bin "$x64")"

suite deb bash packaging/deb/build-deb.sh arm64 armhf amd64
version=$(zatan_version)
for arch in arm64 armhf amd64; do
    # lintian exits non-zero on errors; warnings are shown, not fatal
    suite "lintian-$arch" lintian --fail-on error --info "$ZATAN_OUT/zatan_${version}_${arch}.deb"
done
suite deb-install bash packaging/deb/test-install.sh "$ZATAN_OUT/zatan_${version}_amd64.deb"

suite ipk bash openwrt/build-ipk.sh aarch64_generic arm_cortex-a7
suite ipk-aarch64 bash openwrt/test-ipk.sh "$ZATAN_OUT/zatan_${version}-1_aarch64_generic.ipk" aarch64_generic qemu-aarch64-static
suite ipk-armv7 bash openwrt/test-ipk.sh "$ZATAN_OUT/zatan_${version}-1_arm_cortex-a7.ipk" arm_cortex-a7 qemu-arm-static
suite uci2toml bash openwrt/test-uci2toml.sh "$(bin "$x64")"

say "packaging tests took $(( $(date +%s) - started )) s"
[ ${#failures[@]} -eq 0 ] || say "failed: ${failures[*]}"
echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
