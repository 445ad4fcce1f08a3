#!/usr/bin/env bash
# Runs zatan's whole test suite. The tests use real peers (epubcheck, calibre,
# an SMTP server made of Python's aiosmtpd with a trustme CA, chromium);
# this script installs whichever are missing, then runs `cargo test`.
# A test whose peer is still absent fails and says how to get it.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -f /usr/share/java/epubcheck.jar ] && command -v java >/dev/null || missing+=(epubcheck)
command -v ebook-convert >/dev/null && command -v calibre-server >/dev/null || missing+=(calibre)
# tests/common/smtp.rs runs tests/peers/smtp_server.py with Debian's python3
/usr/bin/python3 -c 'import aiosmtpd, trustme' 2>/dev/null || missing+=(python3 python3-aiosmtpd python3-trustme)
# tests/opds.rs reads the OPDS catalog with tests/peers/opds_reader.py (feedparser)
/usr/bin/python3 -c 'import feedparser' 2>/dev/null || missing+=(python3-feedparser)
command -v chromium >/dev/null || missing+=(chromium)
# A Chinese font, so that the article screenshot shows text rather than boxes.
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)

if [ ${#missing[@]} -gt 0 ]; then
    echo "tests/run.sh: installing test peers: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --lib --bins --tests: every test there is, without the empty doc-test run
exec cargo test --locked --lib --bins --tests "$@"
