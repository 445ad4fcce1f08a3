#!/usr/bin/env bash
# Connection-exhaustion benchmark (issue 13): the release binary with its
# default limits under every attack of the issue at once (5,000 stalled half
# heads from 127.0.0.2, 1,000 from 127.0.0.10-59, 1,000 idle keep-alive
# connections, 200 tricklers sending a byte every 2 s), the attackers
# re-opening whatever the server closes; 20 probes, one a second, each a
# signed verification GET and a signed text message from 127.0.0.1.
# Prints probe p50/p99/max, idle and peak RSS, and RSS 15 s after the
# attackers close; then the server's RSS per held connection of each kind.
# Targets: alive, every probe right and under 1 s, peak RSS < 64 MB, back
# within 8 MB of idle. Figures only; nothing here passes or fails.
#
#   BEFORE=/path/to/an/older/zatan tests/bench/exhaustion.sh
# also prints the per-connection figures of that build, to compare.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The attackers hold ~7,500 sockets; the bench raises its soft limit to the
# hard one, which must allow that.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 10000 ]; then
    echo "the open-files hard limit is $hard; raise it to 10000 or more (ulimit -Hn)" >&2
    exit 1
fi
cargo bench --locked --quiet --bench exhaustion -- all
cargo bench --locked --quiet --bench exhaustion -- per-connection
if [ -n "${BEFORE:-}" ]; then
    cargo bench --locked --quiet --bench exhaustion -- per-connection "$BEFORE"
fi
