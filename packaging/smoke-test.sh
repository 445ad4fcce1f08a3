#!/usr/bin/env bash
# Smoke test of one zatan binary, run natively or under qemu-user:
#
#   bash packaging/smoke-test.sh BINARY [RUNNER...]
#   bash packaging/smoke-test.sh target/packages/bin/release/aarch64-unknown-linux-musl/zatan qemu-aarch64-static
#
# It checks that the binary is static, prints --version, starts `serve` on the
# demo settings (only the port is free-chosen, so parallel runs do not collide),
# answers a signed GET verification and a text message, and exits 0 on SIGTERM.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || die "usage: smoke-test.sh BINARY [RUNNER...]"
binary=$(readlink -f "$1"); shift
runner=("$@")
[ -x "$binary" ] || die "$binary is not an executable"
name="${runner[*]:+${runner[*]} }${binary##*/}"

fail() { say "FAIL ($name): $*"; [ -f "${log:-}" ] && sed 's/^/    | /' "$log" >&2; exit 1; }

info=$(file -b "$binary")
case $info in
    *"statically linked"*|*"static-pie linked"*) ;;
    *) fail "not a static binary: $info" ;;
esac

version=$("${runner[@]}" "$binary" --version) || fail "--version exited $?"
[ "$version" = "zatan $(zatan_version)" ] || fail "--version printed '$version', expected 'zatan $(zatan_version)'"

work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
log=$work/serve.log
printf '[server]\nlisten = "127.0.0.1:0"\n' >"$work/config.toml"
(cd "$work" && exec "${runner[@]}" "$binary" serve --config config.toml) 2>"$log" &
pid=$!

addr=$(wait_for_listen "$log" "$pid") || fail "serve did not report its address within 30 s"

token=zatan   # the demo token
ts=$(date +%s) nonce=$RANDOM$RANDOM
sig=$(wechat_signature "$token" "$ts" "$nonce")

echo_back=$(curl -sS --max-time 20 "http://$addr/wechat?signature=$sig&timestamp=$ts&nonce=$nonce&echostr=smoke$nonce") ||
    fail "verification request failed"
[ "$echo_back" = "smoke$nonce" ] || fail "verification answered '$echo_back'"

status=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 20 \
    "http://$addr/wechat?signature=0000&timestamp=$ts&nonce=$nonce&echostr=x") || fail "bad-signature request failed"
[ "$status" = 403 ] || fail "a wrong signature got $status, not 403"

body="<xml><ToUserName><![CDATA[gh_smoke]]></ToUserName><FromUserName><![CDATA[o_smoke]]></FromUserName><CreateTime>$ts</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[help]]></Content><MsgId>$nonce</MsgId></xml>"
reply=$(curl -sS --max-time 20 -H 'Content-Type: text/xml' --data-binary "$body" \
    "http://$addr/wechat?signature=$sig&timestamp=$ts&nonce=$nonce&openid=o_smoke") || fail "text message request failed"
case $reply in
    *"<ToUserName><![CDATA[o_smoke]]></ToUserName>"*"<MsgType><![CDATA[text]]></MsgType>"*"可用命令"*) ;;
    *) fail "unexpected reply to 'help': $reply" ;;
esac

kill -TERM "$pid"
code=0
wait "$pid" || code=$?
pid=
[ "$code" -eq 0 ] || fail "serve exited $code on SIGTERM, not 0"
grep -q "stopping" "$log" || fail "no 'stopping' line in the log"
say "ok ($name): $version, verification, text reply, exit 0 on SIGTERM"
