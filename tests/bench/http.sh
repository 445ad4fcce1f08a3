#!/usr/bin/env bash
# HTTP front benchmark: prints req/s and p50/p99 latency for plaintext and
# safe-mode text messages at 1 and 64 connections, zatan's idle RSS and binary
# size, with nginx's static `return 200` measured in the same run by the same
# client (wrk, one thread) as the yardstick. Every zatan request is a distinct
# message, so none is answered from the retry cache.
# Goals (2-core machine, ratios to nginx in the same run): plaintext at 64
# connections >= 0.6x nginx's req/s with a p99 no worse than nginx's, safe mode
# >= 0.4x, 1 connection p99 <= 2x nginx's; printed at the end. Figures only;
# nothing here passes or fails.
#
# ZATAN_BIN=path benchmarks that binary instead of building target/release/zatan;
# BASELINE_BIN=path also runs that one (say, a build from before a profile change)
# on the next port, measured in the same run, turn about, so that the two can be
# compared on a machine whose load changes.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_SECONDS=${RUN_SECONDS:-3}
REQUESTS=${REQUESTS:-400000}   # distinct requests per mode; more than a run sends
ZATAN_PORT=${ZATAN_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}

missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -n "${ZATAN_BIN:-}" ]; then
    bin=$ZATAN_BIN
else
    cargo build --release --locked --quiet
    bin="${CARGO_TARGET_DIR:-target}/release/zatan"
fi
BASELINE_BIN=${BASELINE_BIN:-}
BASELINE_PORT=$((ZATAN_PORT + 2))
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
for mode in plain safe; do
    cargo bench --locked --quiet --bench requests -- "$mode" "$REQUESTS" "$work/$mode.requests"
done

# start_zatan NAME BINARY PORT
start_zatan() {
    local name=$1 binary=$2 port=$3
    cat > "$work/$name.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
[wechat]
token = "benchToken"
app_id = "wxbench0000000000"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
[storage]
data_dir = "$work/$name/data"
[pictures]
dir = "$work/$name/pictures"
[books]
dir = "$work/$name/books"
[articles]
dir = "$work/$name/articles"
TOML
    "$binary" serve --config "$work/$name.toml" 2>"$work/$name.log" &
    echo $! > "$work/$name.pid"
}
start_zatan zatan "$bin" "$ZATAN_PORT"
[ -z "$BASELINE_BIN" ] || start_zatan baseline "$BASELINE_BIN" "$BASELINE_PORT"

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

for port in "$ZATAN_PORT" ${BASELINE_BIN:+"$BASELINE_PORT"}; do
    for _ in $(seq 50); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
        sleep 0.1
    done
done
sleep 1
# RSS counts shared library pages too; on the static musl build for the
# boards there is no shared libc, so show the private (anonymous) part as well.
idle=$(awk '/^Rss:/ {r=$2} /^Anonymous:/ {a=$2} END {print r " KiB (anonymous " a " KiB, file-backed " r-a " KiB)"}' "/proc/$(cat "$work/zatan.pid")/smaps_rollup")

# wrk's summary -> one line: req/s, p50, p99
measure() {
    local label=$1 connections=$2; shift 2
    wrk -t1 -c"$connections" -d"${RUN_SECONDS}s" --latency "$@" | awk -v label="$label" -v c="$connections" -v results="$work/results" '
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = $2 }
        $1 == "99%" { p99 = $2 }
        /Non-2xx/ { bad = $NF }
        function ms(t) { if (t ~ /us$/) return t / 1000; if (t ~ /ms$/) return t + 0; if (t ~ /s$/) return t * 1000; return t }
        END {
            printf "%-14s c=%-3s %10s req/s   p50 %9s   p99 %9s%s\n", label, c, rps, p50, p99, (bad ? "   NON-2XX: " bad : "")
            printf "%s|%s %s %s\n", label, c, rps, ms(p99) >> results
        }'
}

# ratio LABEL C: LABEL's req/s and p99 at C connections against nginx's in this run
ratio() {
    awk -v label="$1" -v c="$2" -F'|' '
        { split($2, f, " ") }
        $1 == "nginx static" && f[1] == c { nr = f[2]; np = f[3] }
        $1 == label && f[1] == c { zr = f[2]; zp = f[3] }
        END { if (nr > 0 && np > 0) printf "%-14s c=%-3s %.2fx nginx req/s, p99 %.2fx nginx p99\n", label, c, zr / nr, zp / np }' "$work/results"
}

echo "== $(nproc) cores, ${RUN_SECONDS}s per run, client: wrk -t1"
for c in 1 64; do
    measure "nginx static" "$c" "http://127.0.0.1:$NGINX_PORT/"
    measure "zatan plain" "$c" -s tests/bench/replay.lua "http://127.0.0.1:$ZATAN_PORT/" -- "$work/plain.requests"
    measure "zatan safe" "$c" -s tests/bench/replay.lua "http://127.0.0.1:$ZATAN_PORT/" -- "$work/safe.requests"
    if [ -n "$BASELINE_BIN" ]; then
        measure "baseline plain" "$c" -s tests/bench/replay.lua "http://127.0.0.1:$BASELINE_PORT/" -- "$work/plain.requests"
        measure "baseline safe" "$c" -s tests/bench/replay.lua "http://127.0.0.1:$BASELINE_PORT/" -- "$work/safe.requests"
    fi
done
echo "== against nginx (goals: plain c=64 >= 0.6x req/s and p99 <= 1x; safe c=64 >= 0.4x; plain c=1 p99 <= 2x)"
for c in 1 64; do
    for label in "zatan plain" "zatan safe" ${BASELINE_BIN:+"baseline plain" "baseline safe"}; do
        ratio "$label" "$c"
    done
done
echo "zatan idle RSS: $idle"
echo "zatan RSS after load: $(awk '/VmRSS/ {print $2}' "/proc/$(cat "$work/zatan.pid")/status") KiB"
echo "zatan binary ($(uname -m)): $(stat -c %s "$bin") bytes: $bin"
[ -z "$BASELINE_BIN" ] || echo "baseline binary: $(stat -c %s "$BASELINE_BIN") bytes: $BASELINE_BIN"
