#!/usr/bin/env bash
# Idle memory of the static x86_64 release binary (the one the packages ship):
# `zatan serve` with no config, the embedded demo (127.0.0.1:8080, directories
# under a scratch directory), measured once it answers /healthz and its services
# have started. Prints total RSS and the private anonymous part (heap, stacks,
# the part a second process could not share); file-backed pages are the binary's
# own text, which the kernel can drop and read again.
#
#   bash tests/bench/idle-memory.sh [BINARY]
#
# BINARY defaults to the x86_64 musl build of packaging/build-static.sh (built
# when missing). Targets: anonymous <= 2 MB, total RSS <= 3 MB. Figures only;
# nothing here passes or fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
source packaging/lib.sh

target=x86_64-unknown-linux-musl
bin=${1:-$(static_binary "$target" release)}
[ -x "$bin" ] || bash packaging/build-static.sh "$target"
command -v curl >/dev/null || die "curl is needed to wait for the demo server"
if curl -s -o /dev/null "http://127.0.0.1:8080/healthz"; then
    die "something already listens on 127.0.0.1:8080, the demo's address; stop it first"
fi

bin=$(realpath "$bin")
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$work" && exec env -u ZATAN_LOG "$bin" serve 2>"$work/zatan.log") &
pid=$!
# services start before the front listens: the "listening" line means all are up
for _ in $(seq 200); do
    grep -q "listening on" "$work/zatan.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$work/zatan.log" >&2; die "zatan serve exited"; }
    sleep 0.05
done
grep -q "listening on" "$work/zatan.log" || die "the demo did not start listening in 10 s"
# one request through the front, as an idle server has answered a health check
curl -fs -o /dev/null "http://127.0.0.1:8080/healthz" || die "the demo does not answer /healthz"

rollup=/proc/$pid/smaps_rollup
kib() { awk -v key="$1:" '$1 == key { print $2 }' "$rollup"; }
rss=$(kib Rss) anon=$(kib Anonymous)
private=$(( $(kib Private_Clean) + $(kib Private_Dirty) ))
echo "zatan idle, demo config, $(file -b "$bin" | cut -d, -f1-2)"
echo "  binary:            $(stat -c %s "$bin") bytes ($bin)"
echo "  total RSS:         $rss KiB   (target <= 3 MB = 3072 KiB)"
echo "  anonymous RSS:     $anon KiB   (target <= 2 MB = 2048 KiB)"
echo "  private (any):     $private KiB"
echo "  file-backed RSS:   $((rss - anon)) KiB"
