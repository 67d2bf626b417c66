#!/usr/bin/env bash
# The harness's own peak memory (VmHWM of the sidebyside process, polled; the snippets' are
# not counted) for FEW and MANY noisy blocks, each printing about MB megabytes, side by side:
# rounds alternate between the two sizes. Memory that does not grow with the number or noise
# of blocks gives a ratio near 1.
#
#   scripts/harness-memory.sh [FEW] [MANY] [MB] [ROUNDS]      (defaults: 2 20 6 2)
#
# Loopback only (the blocks call nothing). Uses $SIDEBYSIDE_BIN, else target/release/sidebyside
# when built, else target/debug/sidebyside.
set -euo pipefail
few=${1:-2}
many=${2:-20}
megabytes=${3:-6}
rounds=${4:-2}
cd "$(dirname "$0")/.."
binary=${SIDEBYSIDE_BIN:-target/release/sidebyside}
[ -x "$binary" ] || binary=target/debug/sidebyside
[ -x "$binary" ] || { echo "build sidebyside first (cargo build --release)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pages() {
    local directory=$1 count=$2
    mkdir -p "$directory"
    for index in $(seq 1 "$count"); do
        printf '# Noisy %s\n\n```python\nfor i in range(%s):\n    print("x" * 99)\n```\n' \
            "$index" "$((megabytes * 10000))" > "$directory/page$index.md"
    done
}

# Prints the peak resident size (KiB) of the command's own process.
peak() {
    "$@" > "$work/stdout" 2> "$work/stderr" &
    local pid=$! high=0 value
    while kill -0 "$pid" 2> /dev/null; do
        value=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2> /dev/null || true)
        [ -n "$value" ] && high=$value
        sleep 0.05
    done
    wait "$pid" || true
    echo "$high"
}

pages "$work/few" "$few"
pages "$work/many" "$many"
echo "load: $(uptime)"
echo "binary: $binary; $few and $many blocks of ~$megabytes MB of output each; $rounds rounds"
few_peaks=()
many_peaks=()
for round in $(seq 1 "$rounds"); do
    few_peaks+=("$(peak env SIDEBYSIDE_NO_CACHE=1 "$binary" verify "$work/few" --format json --max-output $((megabytes * 2 << 20)))")
    many_peaks+=("$(peak env SIDEBYSIDE_NO_CACHE=1 "$binary" verify "$work/many" --format json --max-output $((megabytes * 2 << 20)))")
    echo "round $round: $few blocks ${few_peaks[-1]} KiB, $many blocks ${many_peaks[-1]} KiB"
done
python3 - "${few_peaks[*]}" "${many_peaks[*]}" "$few" "$many" <<'PY'
import statistics, sys
few = [int(v) for v in sys.argv[1].split()]
many = [int(v) for v in sys.argv[2].split()]
print(f"median peak: {sys.argv[3]} blocks {statistics.median(few) / 1024:.1f} MiB, "
      f"{sys.argv[4]} blocks {statistics.median(many) / 1024:.1f} MiB, "
      f"ratio {statistics.median(many) / statistics.median(few):.2f}")
PY
