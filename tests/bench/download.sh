#!/usr/bin/env bash
# Download benchmark: a 300 MB book fetched from zatan (through the OPDS
# acquisition link, the same streamed file response as the chat's download
# links), once at full speed and once by a slow reader, while the server's
# RSS is sampled every 20 ms. Prints the idle RSS, the peak above idle, and
# the throughput. Target: the peak stays under 16 MB above idle (the file is
# streamed in Limits.file_chunk_bytes chunks, never read whole).
# Figures only; nothing here passes or fails.
# BIN=target/debug/zatan uses another build instead of a release one.
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-18090}
BOOK_MB=${BOOK_MB:-300}
SLOW_RATE=${SLOW_RATE:-40M}

if [ -z "${BIN:-}" ]; then
    cargo build --release --locked --quiet
    BIN="${CARGO_TARGET_DIR:-target}/release/zatan"
fi
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/books"

# A real EPUB (the library indexes it) that is BOOK_MB large: stored entries
# of incompressible bytes beside a one-chapter book.
/usr/bin/python3 - "$work/books/big.epub" "$BOOK_MB" <<'PY'
import os, sys, zipfile
path, megabytes = sys.argv[1], int(sys.argv[2])
with zipfile.ZipFile(path, "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
    z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OPS/book.opf" media-type="application/oebps-package+xml"/></rootfiles></container>', zipfile.ZIP_DEFLATED)
    z.writestr("OPS/book.opf", '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:bench:big</dc:identifier><dc:title>Big Book</dc:title><dc:language>en</dc:language></metadata><manifest><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c1"/></spine></package>', zipfile.ZIP_DEFLATED)
    z.writestr("OPS/c1.xhtml", '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>1</title></head><body><p>Big.</p></body></html>', zipfile.ZIP_DEFLATED)
    part, written = 0, 0
    while written < megabytes:
        size = min(100, megabytes - written)
        with z.open(zipfile.ZipInfo(f"OPS/blob{part}.bin"), "w", force_zip64=True) as blob:
            for _ in range(size):
                blob.write(os.urandom(1 << 20))
        part, written = part + 1, written + size
PY

cat > "$work/zatan.toml" <<TOML
[server]
listen = "127.0.0.1:$PORT"
[storage]
data_dir = "$work/data"
[pictures]
dir = "$work/pictures"
[books]
dir = "$work/books"
[articles]
dir = "$work/articles"
[opds]
username = "bench"
password = "bench-pw"
TOML
"$BIN" serve --config "$work/zatan.toml" 2>"$work/zatan.log" &
pid=$!
echo $pid > "$work/zatan.pid"
auth=(-u bench:bench-pw)
id=""
for _ in $(seq 600); do
    id=$(curl -fs "${auth[@]}" "http://127.0.0.1:$PORT/opds/new" 2>/dev/null \
        | grep -o '/opds/books/[^/"]*/file.epub' | head -1 | cut -d/ -f4 || true)
    [ -n "$id" ] && break
    sleep 0.1
done
[ -n "$id" ] || { echo "the book was never indexed; log:"; cat "$work/zatan.log"; exit 1; }
url="http://127.0.0.1:$PORT/opds/books/$id/file.epub"
size=$(stat -c %s "$work/books/big.epub")
sleep 1
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
idle=$(rss)

# Samples the RSS until curl ends; prints the peak.
download() {
    local peak=$idle got
    curl -fs "${auth[@]}" "$@" -o "$work/got" -w '%{size_download} %{speed_download}\n' "$url" > "$work/curl.out" &
    local curl_pid=$!
    while kill -0 $curl_pid 2>/dev/null; do
        now=$(rss); [ "$now" -gt "$peak" ] && peak=$now
        sleep 0.02
    done
    wait $curl_pid
    read -r got speed < "$work/curl.out"
    [ "$got" = "$size" ] || { echo "short download: $got of $size bytes"; exit 1; }
    cmp -s "$work/got" "$work/books/big.epub" || { echo "the downloaded bytes differ from the book"; exit 1; }
    echo "$peak $speed"
}

read -r fast_peak fast_speed < <(download)
read -r slow_peak _ < <(download --limit-rate "$SLOW_RATE")
printf 'book: %d MiB (%d bytes), binary: %s\n' "$((size / 1048576))" "$size" "$BIN"
printf 'idle RSS: %d KiB\n' "$idle"
printf 'full speed: %.0f MB/s, peak RSS %d KiB (+%d KiB above idle)\n' \
    "$(echo "$fast_speed / 1000000" | bc -l)" "$fast_peak" "$((fast_peak - idle))"
printf 'slow reader (%s/s): peak RSS %d KiB (+%d KiB above idle)\n' \
    "$SLOW_RATE" "$slow_peak" "$((slow_peak - idle))"
worst=$(( (fast_peak > slow_peak ? fast_peak : slow_peak) - idle ))
printf 'target: < 16384 KiB above idle: %s\n' "$([ $worst -lt 16384 ] && echo met || echo NOT met)"
