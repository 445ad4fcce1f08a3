#!/usr/bin/env bash
# zatan convert and calibre's ebook-convert side by side on the same generated
# 10 MB Chinese novel (GBK, as such files usually are): TXT → EPUB, then
# EPUB → TXT. Prints wall time and peak RSS of each and the ratios. Then the
# deflate floor, on 2 MB and on 100 MB (the size a 256 MB board must still
# manage): zatan TXT → EPUB of the GBK text and of the same text as UTF-8
# against `gzip -6` of the UTF-8 text and `iconv` GBK → UTF-8, with the ratios
# (goal: GBK → EPUB within 1.3× of gzip -6; the GBK/UTF-8 gap is what guessing
# and decoding the encoding cost), and zatan's peak RSS (goal: under 32 MB at
# 100 MB). And the other conversions per megabyte of input against TXT → EPUB
# (goal: no slower): the Kindle fix (EPUB → EPUB) of a 50 MB EPUB with images,
# and MOBI → EPUB of the novel as calibre writes it in MOBI.
#
# ONLY=floor skips calibre and the per-megabyte rates (the quick check).
# Times are in milliseconds; the 2 MB figures are the fastest of 7 runs.
#
# Needs: cargo, python3, ebook-convert (apt-get install calibre), /usr/bin/time (apt-get install time), gzip, iconv.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in ebook-convert python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install calibre python3" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing: apt-get install time" >&2; exit 1; }

cargo build --release --quiet
zatan="${CARGO_TARGET_DIR:-target}/release/zatan"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS=--no-sandbox

# A GBK novel of about $2 megabytes: chapters of varied sentences, CRLF line ends.
generate() {
    python3 - "$1" "$2" <<'EOF'
import random, sys
path, megabytes = sys.argv[1], int(sys.argv[2])
random.seed(42)
sentences = ["夜色渐深，长安城外的官道上，一骑快马疾驰而来。", "他抬头望了一眼天色，心中暗道不妙。",
             "“你来了。”她轻声说道，眼中闪过一丝笑意。", "风从山谷里吹来，带着雨后泥土的气息。",
             "远处传来几声犬吠，村子里的灯一盏盏熄灭了。", "少年握紧了手中的剑，指节发白。",
             "这一年的雪下得格外早，河面上结了薄薄一层冰。", "老人叹了口气，把茶碗推到他面前。"]
target = megabytes * 1024 * 1024
with open(path, "wb") as out:
    size, chapter = 0, 0
    while size < target:
        chapter += 1
        lines = [f"第{chapter}章 风雪夜归人"] + ["　　" + "".join(random.choices(sentences, k=4)) for _ in range(60)]
        data = ("\r\n".join(lines) + "\r\n").encode("gbk")
        out.write(data)
        size += len(data)
EOF
}

# run LABEL CMD...: prints "LABEL wall_s peak_rss_kb" and keeps them in $wall/$rss.
# With REPEAT=N, the fastest of N runs (a 2 MB conversion takes tens of
# milliseconds, where one run's noise is as large as the differences).
run() {
    local label=$1 best="" start end took
    shift
    for _ in $(seq "${REPEAT:-1}"); do
        start=$(date +%s%N)
        /usr/bin/time -f '%M' -o "$work/time" "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
        end=$(date +%s%N)
        took=$(( (end - start) / 1000 ))
        [ -n "$best" ] && [ "$best" -le "$took" ] || best=$took
    done
    read -r rss <"$work/time"
    wall=$(awk -v us="$best" 'BEGIN { printf "%.3f", us / 1e6 }')
    awk -v l="$label" -v w="$wall" -v r="$rss" 'BEGIN { printf "%-28s %8.3f s %9.1f MB\n", l, w, r / 1024 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 0.001) }'; }

# A 50 MB EPUB of $2 MB of chapters and $3 MB of incompressible images (one
# after every few chapters); half the chapters lack the XML declaration, which
# the Kindle fix adds.
generate_epub() {
    python3 - "$1" "$2" "$3" <<'EOF'
import random, sys, zipfile
path, text_mb, image_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(7)
sentences = ["夜色渐深，长安城外的官道上，一骑快马疾驰而来。", "他抬头望了一眼天色，心中暗道不妙。",
             "“你来了。”她轻声说道，眼中闪过一丝笑意。", "风从山谷里吹来，带着雨后泥土的气息。"]
chapters, size = [], 0
while size < text_mb * 1024 * 1024:
    n = len(chapters) + 1
    paras = "".join("<p>" + "".join(random.choices(sentences, k=4)) + "</p>\n" for _ in range(150))
    decl = '<?xml version="1.0" encoding="utf-8"?>\n' if n % 2 else ""
    chapters.append((decl + '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>第%d章</title></head>'
                     '<body>\n<h1>第%d章</h1>\n%s</body></html>\n' % (n, n, paras)).encode())
    size += len(chapters[-1])
every = max(1, len(chapters) // image_mb)
manifest, spine, entries = [], [], []
for i, doc in enumerate(chapters, 1):
    entries.append(("OEBPS/c%04d.xhtml" % i, doc, zipfile.ZIP_DEFLATED))
    manifest.append('<item id="c%d" href="c%04d.xhtml" media-type="application/xhtml+xml"/>' % (i, i))
    spine.append('<itemref idref="c%d"/>' % i)
    if i % every == 0 and i // every <= image_mb:
        k = i // every
        data = b"\xff\xd8\xff\xe0" + random.randbytes((1 << 20) - 4)
        entries.append(("OEBPS/images/i%d.jpg" % k, data, zipfile.ZIP_STORED))
        manifest.append('<item id="i%d" href="images/i%d.jpg" media-type="image/jpeg"/>' % (k, k))
opf = ('<?xml version="1.0" encoding="utf-8"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
       '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier><dc:title>书</dc:title>'
       '<dc:language>zh</dc:language></metadata><manifest>' + "".join(manifest) + '</manifest><spine>' + "".join(spine)
       + '</spine></package>')
with zipfile.ZipFile(path, "w") as z:
    z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
    z.writestr("META-INF/container.xml", '<?xml version="1.0"?><container version="1.0" '
               'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OEBPS/content.opf" '
               'media-type="application/oebps-package+xml"/></rootfiles></container>', compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("OEBPS/content.opf", opf, compress_type=zipfile.ZIP_DEFLATED)
    for name, data, method in entries:
        z.writestr(name, data, compress_type=method)
EOF
}

# rate LABEL INPUT OUTPUT: converts, prints the time, and keeps megabytes of
# input per second in $mbps.
rate() {
    run "$1" "$zatan" convert "$2" "$3"
    local mb
    mb=$(awk -v b="$(stat -c %s "$2")" 'BEGIN { printf "%.1f", b / 1048576 }')
    mbps=$(awk -v m="$mb" -v w="$wall" 'BEGIN { printf "%.1f", m / (w > 0 ? w : 0.01) }')
    printf '  %s MB of input, %s MB/s\n' "$mb" "$mbps"
}

if [ "${ONLY:-}" != floor ]; then
    generate "$work/novel.txt" 10
    printf 'input: %s bytes of GBK text\n\n' "$(stat -c %s "$work/novel.txt")"

    run "zatan TXT→EPUB" "$zatan" convert "$work/novel.txt" "$work/zatan.epub"
    zw=$wall zr=$rss
    run "ebook-convert TXT→EPUB" ebook-convert "$work/novel.txt" "$work/calibre.epub"
    cw=$wall cr=$rss
    echo "  calibre/zatan: time ×$(ratio "$cw" "$zw"), memory ×$(ratio "$cr" "$zr")"

    run "zatan EPUB→TXT" "$zatan" convert "$work/zatan.epub" "$work/zatan.txt"
    zw=$wall zr=$rss
    run "ebook-convert EPUB→TXT" ebook-convert "$work/zatan.epub" "$work/calibre.txt"
    cw=$wall cr=$rss
    echo "  calibre/zatan: time ×$(ratio "$cw" "$zw"), memory ×$(ratio "$cr" "$zr")"
    printf 'EPUB sizes: zatan %s bytes, calibre %s bytes\n\n' "$(stat -c %s "$work/zatan.epub")" "$(stat -c %s "$work/calibre.epub")"

    echo "Per megabyte of input (goal: EPUB → EPUB and MOBI → EPUB no slower than TXT → EPUB)"
    rate "zatan TXT→EPUB (GBK)" "$work/novel.txt" "$work/rate.epub"
    txt=$mbps
    run "ebook-convert EPUB→MOBI" ebook-convert "$work/zatan.epub" "$work/novel.mobi"
    echo "  (makes the MOBI input, no comparison)"
    rate "zatan MOBI→EPUB" "$work/novel.mobi" "$work/rate.epub"
    mobi=$mbps
    generate_epub "$work/images.epub" 30 46
    rate "zatan EPUB→EPUB (Kindle fix)" "$work/images.epub" "$work/rate.epub"
    kindle=$mbps
    echo "  per MB vs TXT→EPUB: Kindle fix ×$(ratio "$kindle" "$txt"), MOBI ×$(ratio "$mobi" "$txt") (goal ≥ 1)"
    echo
    rm -f "$work"/*.epub "$work"/*.txt "$work"/*.mobi
fi

# floor MEGABYTES: the GBK and UTF-8 conversions against gzip -6 and iconv.
# floor MB REPEAT
floor() {
    local REPEAT=$2
    generate "$work/gbk.txt" "$1"
    iconv -f GBK -t UTF-8 "$work/gbk.txt" >"$work/utf8.txt"
    printf '%s MB of text (%s bytes as UTF-8)\n' "$1" "$(stat -c %s "$work/utf8.txt")"
    run "gzip -6 (UTF-8)" sh -c "gzip -6 -c '$work/utf8.txt' >'$work/utf8.gz'"
    local gz=$wall
    run "iconv GBK→UTF-8" sh -c "iconv -f GBK -t UTF-8 '$work/gbk.txt' >/dev/null"
    run "zatan TXT→EPUB, UTF-8" "$zatan" convert "$work/utf8.txt" "$work/utf8.epub"
    local utf8=$wall utf8_rss=$rss
    run "zatan TXT→EPUB, GBK" "$zatan" convert "$work/gbk.txt" "$work/gbk.epub"
    local gbk=$wall gbk_rss=$rss
    echo "  GBK→EPUB / gzip -6: ×$(ratio "$gbk" "$gz") (goal ≤ 1.3), UTF-8→EPUB / gzip -6: ×$(ratio "$utf8" "$gz"), GBK / UTF-8: ×$(ratio "$gbk" "$utf8")"
    awk -v g="$gbk_rss" -v u="$utf8_rss" 'BEGIN { printf "  zatan peak RSS: GBK %.1f MB, UTF-8 %.1f MB (goal < 32)\n", g / 1024, u / 1024 }'
    echo
    rm -f "$work"/gbk.* "$work"/utf8.*
}
floor 2 7
floor 100 1
