#!/usr/bin/env bash
# Installs a zatan .deb on this machine and checks what it did, then removes and
# purges it and checks what is left. Needs root; changes the machine's package
# set (zatan is gone again at the end). Works whether systemd runs the machine
# or not (in a container the maintainer scripts skip starting the service).
#
#   bash packaging/deb/test-install.sh target/packages/zatan_<version>_amd64.deb
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib.sh"

[ $# -eq 1 ] || die "usage: test-install.sh PACKAGE.deb"
deb=$(readlink -f "$1")
[ "$(id -u)" -eq 0 ] || die "run as root: it installs and purges $deb"
apt_install adduser systemd curl
if dpkg-query -W -f='${Status}' zatan 2>/dev/null | grep -q installed; then
    die "a zatan package is already installed here; purge it first (dpkg --purge zatan)"
fi

stat_is() { [ "$(stat -c '%a %U %G' "$1")" = "$2" ]; }
absent() { [ ! -e "$1" ] && [ ! -L "$1" ]; }
no_user() { ! getent passwd zatan && ! getent group zatan; }
systemd_runs() { [ -d /run/systemd/system ]; }
enabled_link=/etc/systemd/system/multi-user.target.wants/zatan.service
purge() { dpkg --purge zatan >/dev/null 2>"$work/purge.err"; }

work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# --- install ---------------------------------------------------------------
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; die "dpkg -i failed"; }
check "dpkg says zatan is installed" sh -c "dpkg-query -W -f='\${Status}' zatan | grep -q 'install ok installed'"
check "/usr/bin/zatan 0755 root" stat_is /usr/bin/zatan "755 root root"
check "zatan --version is the package version" \
    sh -c "[ \"\$(/usr/bin/zatan --version)\" = \"zatan \$(dpkg-query -W -f='\${Version}' zatan)\" ]"
check "/etc/zatan/config.toml 0640 root:zatan" stat_is /etc/zatan/config.toml "640 root zatan"
check "config.toml is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' zatan | grep -q /etc/zatan/config.toml"
check "system user zatan, home /var/lib/zatan, no login shell" \
    sh -c 'getent passwd zatan | awk -F: "\$3 < 1000 && \$6 == \"/var/lib/zatan\" && \$7 ~ /nologin|false/ {ok=1} END {exit !ok}"'
check "group zatan" getent group zatan
for dir in /var/lib/zatan /var/lib/zatan/pictures /var/lib/zatan/books /var/lib/zatan/articles; do
    check "$dir 0750 zatan:zatan" stat_is "$dir" "750 zatan zatan"
    stat_is "$dir" "750 zatan zatan" || say "  $dir is $(stat -c "%a %U %G" "$dir" 2>&1)"
done
check "unit in /lib/systemd/system" test -f /lib/systemd/system/zatan.service
check "unit enabled (multi-user.target.wants link)" test -L "$enabled_link"
# verify exits 0 on warnings such as an unknown key: its output must be empty too
check "systemd-analyze verify zatan.service: no error, no warning" \
    sh -c 'out=$(systemd-analyze verify /lib/systemd/system/zatan.service 2>&1) && [ -z "$out" ]'
for directive in NoNewPrivileges=yes ProtectSystem=strict ReadWritePaths=/var/lib/zatan PrivateTmp=yes \
    AmbientCapabilities=CAP_NET_BIND_SERVICE CapabilityBoundingSet=CAP_NET_BIND_SERVICE \
    Restart=on-failure "ExecStartPre=/usr/bin/zatan check --config /etc/zatan/config.toml" User=zatan; do
    check "unit has $directive" grep -qxF "$directive" /lib/systemd/system/zatan.service
done
if systemd_runs; then
    check "service started by postinst" systemctl is-active --quiet zatan
else
    say "systemd is not running this machine: postinst enabled the unit without starting it"
fi

# The service's own commands, as its user, on the installed config: zatan check
# (ExecStartPre), then serve on a free port with the shipped settings.
check "zatan check as user zatan on the installed config" \
    runuser -u zatan -- /usr/bin/zatan check --config /etc/zatan/config.toml
runuser -u zatan -- /usr/bin/zatan check --config /etc/zatan/config.toml >/dev/null 2>"$work/check.err" ||
    sed 's/^/  zatan check: /' "$work/check.err" >&2
check "other users cannot read the config" sh -c '! runuser -u nobody -- cat /etc/zatan/config.toml'
sed 's/^listen = .*/listen = "127.0.0.1:0"/' /etc/zatan/config.toml >"$work/config.toml"
chgrp zatan "$work" "$work/config.toml" && chmod 0750 "$work" && chmod 0640 "$work/config.toml"
# setpriv execs zatan itself, so the signal below reaches it (runuser would stay between)
(cd /var/lib/zatan && exec setpriv --reuid=zatan --regid=zatan --init-groups -- /usr/bin/zatan serve --config "$work/config.toml") 2>"$work/serve.log" &
server_pid=$!
addr=$(wait_for_listen "$work/serve.log" "$server_pid") || addr=none
ts=$(date +%s) nonce=$RANDOM
sig=$(wechat_signature zatan "$ts" "$nonce")
check "serve as user zatan answers a signed verification" \
    sh -c "[ \"\$(curl -sS --max-time 10 'http://$addr/wechat?signature=$sig&timestamp=$ts&nonce=$nonce&echostr=deb$nonce')\" = deb$nonce ]"
[ "$addr" != none ] || sed 's/^/  serve: /' "$work/serve.log" >&2
kill -TERM "$server_pid"; code=0; wait "$server_pid" || code=$?; server_pid=
check "serve exits 0 on SIGTERM" test "$code" -eq 0
check "the store /var/lib/zatan/zatan.redb belongs to zatan" sh -c '[ "$(stat -c %U:%G /var/lib/zatan/zatan.redb)" = zatan:zatan ]'

# --- remove: config, data and user stay ----------------------------------------
dpkg -r zatan >/dev/null 2>&1 || die "dpkg -r failed"
check "remove: binary gone" absent /usr/bin/zatan
check "remove: unit gone" absent /lib/systemd/system/zatan.service
check "remove: config kept" test -f /etc/zatan/config.toml
check "remove: store kept" test -f /var/lib/zatan/zatan.redb
check "remove: user kept" getent passwd zatan

# --- purge: nothing the package made is left; the user stays (Debian habit) ----
purge || die "dpkg --purge failed: $(cat "$work/purge.err")"
check "purge: dpkg knows no zatan" sh -c '! dpkg-query -W zatan'
check "purge: /etc/zatan gone" absent /etc/zatan
check "purge: /var/lib/zatan gone (store and empty directories)" absent /var/lib/zatan
check "purge: enable link gone" absent "$enabled_link"
check "purge: no deb-systemd-helper state left" \
    sh -c '! ls /var/lib/systemd/deb-systemd-helper-enabled/ 2>/dev/null | grep -q zatan && ! find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked -name "*zatan*" 2>/dev/null | grep -q .'
check "purge: the zatan user is kept" getent passwd zatan

# --- reinstall over the kept user; the owner's pictures survive a purge ----------
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; die "reinstall failed"; }
check "reinstall keeps the same user" getent passwd zatan
cp "$ZATAN_ROOT/pictures/"* /var/lib/zatan/pictures/ 2>/dev/null || echo picture >/var/lib/zatan/pictures/mine.jpg
purge || die "dpkg --purge failed: $(cat "$work/purge.err")"
check "purge: the owner's pictures are kept" sh -c 'ls /var/lib/zatan/pictures | grep -q .'
check "purge: it says what it kept" grep -q "kept /var/lib/zatan" "$work/purge.err"
check "purge: the empty books directory is gone" absent /var/lib/zatan/books

# --- purge with ZATAN_PURGE_DATA=yes: everything, user included -------------------
dpkg -i "$deb" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; die "reinstall failed"; }
ZATAN_PURGE_DATA=yes purge || die "dpkg --purge failed: $(cat "$work/purge.err")"
check "full purge: /var/lib/zatan gone with the pictures" absent /var/lib/zatan
check "full purge: /etc/zatan gone" absent /etc/zatan
check "full purge: user and group zatan gone" no_user
check "full purge: nothing of the package in dpkg's database" sh -c '! ls /var/lib/dpkg/info/ | grep -q "^zatan\."'
for path in /usr/bin/zatan /lib/systemd/system/zatan.service /usr/share/doc/zatan "$enabled_link"; do
    check "full purge: $path gone" absent "$path"
done

report deb-install
