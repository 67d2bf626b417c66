#!/usr/bin/env bash
# The edit loop, measured side by side in one run (commands alternated, medians compared):
#
#  1. seed: `verify` of the three seed snippets (JavaScript, Python, Rust) vs `verify` of the
#     slowest of them alone (the Python one), both with --no-cache (runtimes' caches warm, every
#     snippet really runs);
#  2. harness CPU per run: a load tree (benches/load/make-docs.sh, 3 blocks a page) verified with
#     --no-cache under GNU time: the whole tree's CPU (sidebyside, its launchers, the snippets)
#     minus the sum of the snippets' own CPU (from the results), per run, and as a share of the
#     snippets' own CPU;
#  3. a one-line edit in a tree of about 1,000 blocks: verify with the cache (only the edited
#     block runs) vs verify --no-cache (all run); and the edited block's own wall time.
#
#   scripts/edit-loop-bench.sh [PAIRS] [LOAD_PAGES] [EDIT_PAGES]     (defaults: 10 30 334)
#
# Uses target/release/sidebyside (build it first: cargo build --release), or $SIDEBYSIDE. Prints
# the machine's load before and after: figures from a busy machine say so.
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-10}
load_pages=${2:-30}
edit_pages=${3:-334}
bin=${SIDEBYSIDE:-$PWD/target/release/sidebyside}
[ -x "$bin" ] || { echo "no $bin: run cargo build --release first (or set SIDEBYSIDE)" >&2; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "GNU time (/usr/bin/time) is needed: apt-get install time" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
elapsed() { # runs "$@", prints its wall time in seconds
    local start end
    start=$(now)
    "$@" >/dev/null 2>&1 || true
    end=$(now)
    echo "$end - $start" | bc -l
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "sidebyside: $bin"

# Warm every cache the runs use (venv, Rust builds, probes) without measuring.
"$bin" verify --no-cache >/dev/null 2>&1 || true

echo
echo "1. seed verify vs its slowest snippet alone ($pairs pairs, alternated, --no-cache)"
: >"$work/seed" ; : >"$work/alone"
for _ in $(seq "$pairs"); do
    elapsed "$bin" verify --no-cache snippets/javascript snippets/python snippets/rust >>"$work/seed"
    elapsed "$bin" verify --no-cache snippets/python/fetch_data.py >>"$work/alone"
done
seed=$(median <"$work/seed"); alone=$(median <"$work/alone")
printf '   seed verify (the three seed snippets): median %.3f s\n' "$seed"
printf '   slowest alone (fetch_data.py): median %.3f s\n' "$alone"
printf '   ratio: %.2fx\n' "$(echo "$seed / $alone" | bc -l)"

echo
echo "2. harness CPU per run: $load_pages pages x 3 blocks, --no-cache, --jobs 2"
benches/load/make-docs.sh "$work/load" "$load_pages" >/dev/null
: >"$work/harness" ; : >"$work/harness-exec"
harness_cpu() { # LAUNCHER OUTPUT: one verify of the load tree, its harness CPU per run appended
    SIDEBYSIDE_LAUNCHER=$1 /usr/bin/time -f '%U %S' -o "$work/time" "$bin" verify "$work/load" \
        --no-cache --jobs 2 --format json >"$work/load.json" 2>/dev/null || true
    python3 - "$work/load.json" "$work/time" >>"$2" <<'PY'
import json, sys
document = json.load(open(sys.argv[1]))
user, system = map(float, open(sys.argv[2]).read().split()[-2:])
runs = document["runs"]
own = sum(run["cpu_s"] for run in runs)
print(f"{(user + system - own) / len(runs) * 1000:.2f} {user + system:.2f} {own:.2f} {len(runs)} {(user + system - own) / own * 100:.1f}")
PY
}
# Alternated: each run's launcher forked by the session's zygote (the default) and, for
# comparison, started afresh as its own program (SIDEBYSIDE_LAUNCHER=exec).
for _ in 1 2 3; do
    harness_cpu zygote "$work/harness"
    harness_cpu exec "$work/harness-exec"
done
# The share of the snippets' own CPU follows the harness's cost, not the host's speed of the
# moment (on a shared machine both figures move together by a third within the hour).
sort -g "$work/harness" | awk '{print "   run: harness " $1 " ms/run (whole tree " $2 " s CPU, snippets " $3 " s, " $4 " runs; " $5 "% of the snippets'"'"' CPU)"}'
printf '   median harness CPU per run: %s ms\n' "$(cut -d' ' -f1 "$work/harness" | median)"
printf '   the same, each launcher started afresh (SIDEBYSIDE_LAUNCHER=exec): %s ms\n' \
    "$(cut -d' ' -f1 "$work/harness-exec" | median)"

if [ "$edit_pages" -eq 0 ]; then
    echo; echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    exit 0
fi
echo
echo "3. one-line edit in a tree of $((edit_pages * 3)) blocks: with the cache vs --no-cache"
benches/load/make-docs.sh "$work/tree" "$edit_pages" >/dev/null
"$bin" verify "$work/tree" >/dev/null 2>&1 || true   # fills the verdict cache
page="$work/tree/page-001.md"
: >"$work/cached" ; : >"$work/full" ; : >"$work/block"
edit_pairs=$(( pairs < 3 ? pairs : 3 ))
for i in $(seq "$edit_pairs"); do
    # The edit: one line of the page's first block.
    sed -i "s|return await response.json();.*|return await response.json(); // edit $i|" "$page"
    start=$(now)
    "$bin" verify "$work/tree" --format json >"$work/edit.json" 2>/dev/null || true
    end=$(now)
    echo "$end - $start" | bc -l >>"$work/cached"
    python3 -c "
import json, sys
runs = json.load(open(sys.argv[1]))['runs']
fresh = [run for run in runs if 'cached' not in run]
print(' '.join(f\"{run['wall_s']:.3f}\" for run in fresh), file=sys.stderr)
print(fresh[0]['wall_s'] if len(fresh) == 1 else 'nan')
" "$work/edit.json" >>"$work/block" 2>"$work/fresh"
    echo "   edit $i: rerun blocks' wall: $(cat "$work/fresh")"
    elapsed "$bin" verify "$work/tree" --no-cache >>"$work/full"
done
cached=$(median <"$work/cached"); full=$(median <"$work/full"); block=$(median <"$work/block")
printf '   after the edit, with the cache: median %.3f s (the edited block alone ran %.3f s: %.3f s besides it)\n' \
    "$cached" "$block" "$(echo "$cached - $block" | bc -l)"
printf '   the same tree with --no-cache: median %.2f s\n' "$full"
printf '   ratio: %.1fx faster\n' "$(echo "$full / $cached" | bc -l)"

echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
