#!/usr/bin/env bash
# Builds zatan_<version>_<arch>.deb with dpkg-deb from the static binary:
#
#   bash packaging/deb/build-deb.sh [--profile release|release-small] [ARCH...]
#
# ARCH is arm64 (Raspberry Pi 3/4/5 with a 64-bit OS), armhf (Pi 2/3/4 with a
# 32-bit OS) or amd64; all three when none is given. A binary that is not built
# yet is built by packaging/build-static.sh. The packages land in
# $CARGO_TARGET_DIR/packages/ (CARGO_TARGET_DIR defaults to ./target).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"

parse_build_args "$@"
arches=("${names[@]}")
[ ${#arches[@]} -gt 0 ] || arches=(arm64 armhf amd64)

apt_install dpkg-dev
version=$(zatan_version)
maintainer=${ZATAN_MAINTAINER:-zatan developers <zatan@users.noreply.github.com>}
# Reproducible: dates and mtimes from the last commit unless told otherwise.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ZATAN_ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}

# The licences of the crates linked into the binary, for the copyright file.
crate_licences() {
    (cd "$ZATAN_ROOT" && /usr/bin/cargo metadata --locked --format-version 1 --filter-platform "$1") |
        /usr/bin/python3 -c '
import json, sys
meta = json.load(sys.stdin)
packages = {p["id"]: p for p in meta["packages"]}
normal = set()
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
todo = [meta["resolve"]["root"]]
while todo:
    node = nodes[todo.pop()]
    for dep in node["deps"]:
        if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in normal:
            normal.add(dep["pkg"])
            todo.append(dep["pkg"])
for pid in sorted(normal, key=lambda i: (packages[i]["name"], packages[i]["version"])):
    p = packages[pid]
    print(" %s %s: %s" % (p["name"], p["version"], p["license"] or "see its source"))
'
}

write_copyright() { # FILE TARGET
    {
        cat <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: zatan
Comment: /usr/bin/zatan is statically linked with the Rust standard library,
 musl libc, LLVM's libunwind and these crates, each under its own licence:
EOF
        crate_licences "$2"
        cat <<EOF

Files: *
Copyright: 2026 the zatan developers
License: Apache-2.0 or Expat

License: Apache-2.0
 On Debian systems, the full text of the Apache License, Version 2.0 is in
 /usr/share/common-licenses/Apache-2.0.

License: Expat
EOF
        # the MIT text of LICENSE, from its "Permission" paragraph to the separator
        sed -n '/^Permission is hereby granted/,/^=====/p' "$ZATAN_ROOT/LICENSE" |
            sed '/^=====/d' | sed -e 's/^$/./' -e 's/^/ /' | sed '$ { /^ \.$/d }'
    } >"$1"
}

mkdir -p "$ZATAN_OUT"
for arch in "${arches[@]}"; do
    target=$(target_of_deb_arch "$arch")
    binary=$(ensure_static_binary "$target" "$profile")

    stage=$ZATAN_OUT/deb-stage/$arch
    rm -rf "$stage"
    install -d -m 0755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/etc/zatan" \
        "$stage/lib/systemd/system" "$stage/usr/share/doc/zatan" "$stage/usr/share/lintian/overrides"
    install -m 0755 "$binary" "$stage/usr/bin/zatan"
    install -m 0640 "$here/config.toml" "$stage/etc/zatan/config.toml"
    install -m 0644 "$here/zatan.service" "$stage/lib/systemd/system/zatan.service"
    gzip -9n <"$ZATAN_ROOT/README.md" >"$stage/usr/share/doc/zatan/README.md.gz"
    write_copyright "$stage/usr/share/doc/zatan/copyright" "$target"
    chmod 0644 "$stage/usr/share/doc/zatan/copyright"
    printf 'zatan (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- %s  %s\n' \
        "$version" "$version" "$maintainer" "$(date -R -u -d "@$SOURCE_DATE_EPOCH")" |
        gzip -9n >"$stage/usr/share/doc/zatan/changelog.gz"
    chmod 0644 "$stage/usr/share/doc/zatan/changelog.gz" "$stage/usr/share/doc/zatan/README.md.gz"
    install -m 0644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/zatan"

    install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$stage/DEBIAN/"
    echo /etc/zatan/config.toml >"$stage/DEBIAN/conffiles"
    size_kb=$(du -k -s --exclude=DEBIAN "$stage" | cut -f1)
    cat >"$stage/DEBIAN/control" <<EOF
Package: zatan
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size_kb
Depends: adduser
Section: net
Priority: optional
Description: WeChat Official Account server for small machines
 zatan answers a WeChat Official Account's callbacks (plaintext, compatible
 and safe mode), runs its chat commands, offers pictures and converts
 e-books for Kindle. One static binary with its state in one file, run as
 a sandboxed systemd service under its own user.
EOF
    (cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
    chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

    deb=$ZATAN_OUT/zatan_${version}_${arch}.deb
    dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
    say "$deb ($(stat -c %s "$deb") bytes)"
done
