#!/usr/bin/env bash
# Run every fuzz target in fuzz/ (or only the TARGETs named) for SECONDS each
# (default 60): `tests/fuzz.sh [SECONDS [TARGET...]]`. It prints, per
# target, the seconds, executions, coverage and crashes. Needs cargo-fuzz
# (installed here when missing). On a stable toolchain it runs with
# RUSTC_BOOTSTRAP=1 and no sanitizer (-s none); each input is limited to 10 s
# and the process to 256 MB RSS, so a file that makes zatan allocate far
# beyond its size is reported like a crash. New inputs go to
# target/fuzz-corpus/, the committed seeds in fuzz/corpus/ stay small; a
# crash leaves its input in fuzz/artifacts/TARGET/ and fails the script.
set -euo pipefail
seconds=${1:-60}
shift $(($# > 0 ? 1 : 0))
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
targets=${*:-$(cargo fuzz list)}
mkdir -p "$root/target"
if ! cargo fuzz build -s none >"$root/target/fuzz-build.log" 2>&1; then
    cat "$root/target/fuzz-build.log" >&2
    exit 1
fi
failed=0
printf '%-16s %8s %12s %8s %8s\n' target seconds executions coverage crashes
for target in $targets; do
    work="$root/target/fuzz-corpus/$target"
    mkdir -p "$work" "artifacts/$target"
    log="$root/target/fuzz-corpus/$target.log"
    status=0
    cargo fuzz run -s none "$target" "$work" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=256 -timeout=10 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    crashes=$(find "artifacts/$target" -type f | wc -l)
    printf '%-16s %8s %12s %8s %8s\n' "$target" "$seconds" "${runs:-?}" "${cov:-?}" "$crashes"
    if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        failed=1
        echo "  $target failed (exit $status); its log: $log" >&2
        grep -m5 -E 'panicked|ERROR|SUMMARY' "$log" >&2 || true
    fi
done
exit $failed
