#!/usr/bin/env bash
# HTTP front benchmark: prints req/s and p50/p99 latency for plaintext and
# safe-mode text messages at 1 and 64 connections, zatan's idle RSS and binary
# size, with nginx's static `return 200` measured in the same run as the yardstick.
# Targets (2-core machine): plaintext >= half of nginx's req/s, p99 < 2 ms at 64
# connections, idle RSS <= 5 MB. Figures only; nothing here passes or fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
ZATAN_PORT=${ZATAN_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}

if ! command -v nginx >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx-light >/dev/null
fi

cargo build --release --locked --quiet
cargo bench --locked --bench http_load --no-run --quiet 2>/dev/null
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/zatan.toml" <<TOML
[server]
listen = "127.0.0.1:$ZATAN_PORT"
[wechat]
token = "benchToken"
app_id = "wxbench0000000000"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
[storage]
data_dir = "$work/data"
[pictures]
dir = "$work/pictures"
[books]
dir = "$work/books"
[articles]
dir = "$work/articles"
TOML
target/release/zatan serve --config "$work/zatan.toml" 2>"$work/zatan.log" &
echo $! > "$work/zatan.pid"

cat > "$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx-body;
    server { listen 127.0.0.1:$NGINX_PORT; location / { return 200 "ok"; } }
}
NGINX
nginx -c "$work/nginx.conf"

for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$ZATAN_PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done
sleep 1
idle_rss=$(awk '/VmRSS/ {print $2}' "/proc/$(cat "$work/zatan.pid")/status")

load() { cargo bench --locked --quiet --bench http_load -- "$@"; }
echo "== $(nproc) cores, ${SECONDS_PER_RUN}s per run"
for c in 1 64; do
    load "127.0.0.1:$NGINX_PORT" static "$c" "$SECONDS_PER_RUN" | sed 's/^/nginx /'
    load "127.0.0.1:$ZATAN_PORT" plain "$c" "$SECONDS_PER_RUN" | sed 's/^/zatan /'
    load "127.0.0.1:$ZATAN_PORT" safe "$c" "$SECONDS_PER_RUN" | sed 's/^/zatan /'
done
echo "zatan idle RSS: ${idle_rss} KiB"
echo "zatan RSS after load: $(awk '/VmRSS/ {print $2}' "/proc/$(cat "$work/zatan.pid")/status") KiB"
echo "zatan binary (release, stripped, x86_64): $(stat -c %s target/release/zatan) bytes"
