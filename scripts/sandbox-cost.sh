#!/usr/bin/env bash
# What the namespace sandbox costs a whole `verify`, next to preload isolation, measured side by
# side: the two commands alternate, ROUNDS pairs, and the medians and their ratio are printed.
# The program is the project's Rust snippet (a few milliseconds), so the harness and the
# isolation set-up are most of what is measured. Check the load (`uptime`) before quoting.
#
#   scripts/sandbox-cost.sh [ROUNDS]     (default 12; builds the release binary first)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-12}"
cargo build --release --quiet
binary=target/release/sidebyside
"$binary" verify snippets/rust/fetch-data >/dev/null 2>&1 || {
    echo "sandbox-cost: the Rust snippet does not verify here; run sidebyside verify first" >&2
    exit 1
}
uptime
python3 - "$binary" "$rounds" <<'PY'
import statistics, subprocess, sys, time
binary, rounds = sys.argv[1], int(sys.argv[2])
times = {"namespace": [], "preload": []}
for _ in range(rounds):
    for mode in times:
        started = time.perf_counter()
        done = subprocess.run([binary, "verify", "snippets/rust/fetch-data", "--isolation", mode,
                               "--format", "json"], capture_output=True)
        times[mode].append(time.perf_counter() - started)
        if done.returncode != 0:
            sys.exit(f"sandbox-cost: verify --isolation {mode} failed:\n{done.stderr.decode()[-800:]}")
for mode, values in times.items():
    print(f"{mode:9} median {1000 * statistics.median(values):7.1f} ms   min {1000 * min(values):7.1f} ms")
ratio = statistics.median(times["namespace"]) / statistics.median(times["preload"])
print(f"namespace / preload: {ratio:.2f} ({rounds} alternating pairs)")
PY
uptime
