#!/usr/bin/env bash
# What splitting a run into shares costs: on a generated tree of PAGES pages (each with a shell
# block; every fourth with a Python and a JavaScript block that agree), measures, alternating
# their order from round to round, (a) one whole `verify` and (b) the N shares of
# `verify --partition hash:K/N` run one after another on this machine, then merged with
# `report`. Prints the CPU seconds (user + system, children included) and wall seconds of each,
# per round, their medians, and the ratio (b)/(a): the extra work N jobs do in total (each
# starts its own mock and runtimes). On N machines the wall time of (b) would be the slowest
# share's. Records `uptime` before and after.
#
#   scripts/partition-overhead.sh [ROUNDS] [PAGES] [N]      (default 3 rounds, 40 pages, 4)
#
# Needs a build (`cargo build`), node and python; uses $SIDEBYSIDE_CACHE_DIR like verify.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
pages=${2:-40}
shares=${3:-4}
binary=${SIDEBYSIDE:-$PWD/target/debug/sidebyside}
export PATH="$PWD/target/js-tools/node_modules/.bin:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/docs"
for ((page = 0; page < pages; page++)); do
  {
    printf '# Page %d\n\n```bash\necho %d\n```\n' "$page" "$page"
    if ((page % 4 == 0)); then
      printf '\n## Twice\n\n```python\nprint(%d * 2)\n```\n\n```javascript\nconsole.log(%d * 2)\n```\n' "$page" "$page"
    fi
  } > "$work/docs/page-$page.md"
done
# Provision once, outside the measurement.
"$binary" verify "$work/docs" > /dev/null 2>&1 || true

# Runs a command; prints "CPU WALL" in seconds (CPU: user + system of its children).
measure() {
  local start end before after me=$BASHPID
  before=$(awk '{print $16 + $17}' "/proc/$me/stat")
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1 || true
  end=$(date +%s.%N)
  # Children's times, in clock ticks, from the shell's own /proc stat (cutime + cstime).
  after=$(awk '{print $16 + $17}' "/proc/$me/stat")
  awk -v a="$before" -v b="$after" -v s="$start" -v e="$end" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.2f %.2f\n", (b - a) / hz, e - s }'
}
whole() { "$binary" verify "$work/docs" --out "$work/whole"; }
split() {
  for ((k = 1; k <= shares; k++)); do
    "$binary" verify "$work/docs" --partition "hash:$k/$shares" --out "$work/share-$k" || true
  done
  "$binary" report "$work"/share-*/results.json --out "$work/merged"
}
echo "uptime before: $(uptime)"
echo "round  whole-cpu whole-wall  shares-cpu shares-wall"
results=()
for ((round = 1; round <= rounds; round++)); do
  if ((round % 2)); then
    a=$(measure whole); b=$(measure split)
  else
    b=$(measure split); a=$(measure whole)
  fi
  echo "$round      $a      $b"
  results+=("$a $b")
done
printf '%s\n' "${results[@]}" | awk -v n="$shares" '
  { wc[NR] = $1; ww[NR] = $2; sc[NR] = $3; sw[NR] = $4 }
  function median(v, count,   i, j, t) {
    for (i = 1; i <= count; i++) for (j = i + 1; j <= count; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return count % 2 ? v[(count + 1) / 2] : (v[count / 2] + v[count / 2 + 1]) / 2
  }
  END {
    a = median(wc, NR); b = median(ww, NR); c = median(sc, NR); d = median(sw, NR)
    printf "median: whole %.2f s CPU, %.2f s wall; %d shares in turn + merge %.2f s CPU, %.2f s wall\n", a, b, n, c, d
    printf "ratio shares/whole: CPU %.2f, wall %.2f\n", c / a, d / b
  }'
echo "uptime after: $(uptime)"
