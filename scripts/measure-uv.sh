#!/usr/bin/env bash
# Measures how long a page's Python venv takes to make with uv and with pip, side by side:
# `sidebyside verify` of a page that declares a package (tests/fixtures/docs/page-packages.md,
# `pip install requests`: a venv of the project's aiohttp, httpx and uvloop plus requests), its
# venv removed before every run, the installers alternating (uv, pip, pip, uv, ...) so a drift
# of the machine hits both alike. Both installers' download caches are warm (a first run of
# each is not counted), so what is compared is making the venv, not the network.
#
#   scripts/measure-uv.sh [ROUNDS]        (default 5 rounds: 2 x ROUNDS runs)
#
# Uses a cache of its own (a temporary directory in target/), a debug or release build
# (SIDEBYSIDE=target/release/sidebyside to pick one). Prints each run, the median of each
# installer, their ratio, and the load (`uptime`) before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
sidebyside=${SIDEBYSIDE:-target/debug/sidebyside}
page=tests/fixtures/docs/page-packages.md
# Not below /tmp: the namespace sandbox gives snippets a private /tmp.
cache=$(mktemp -d -p "$PWD/target" measure-uv.XXXXXX)
chmod 755 "$cache"
trap 'rm -rf "$cache"' EXIT
export SIDEBYSIDE_CACHE_DIR=$cache SIDEBYSIDE_NO_CACHE=1

# One run with INSTALLER; prints its wall seconds. The page's venv is removed afterwards.
run() {
  local start end venv
  start=$(date +%s.%N)
  SIDEBYSIDE_PYTHON_INSTALLER=$1 "$sidebyside" verify "$page" --format json \
    >"$cache/out.json" 2>"$cache/err.txt" || { cat "$cache/err.txt" "$cache/out.json" >&2; exit 1; }
  end=$(date +%s.%N)
  venv=$(sed -n 's/.*setting up the Python environment in \(.*\) with \(uv\|pip\) (first run only).*/\1 \2/p' "$cache/err.txt" | grep -v "^$cache/python/venv-[0-9a-f]* $" | tail -1)
  grep -q '"status": "passed"' "$cache/out.json" || { cat "$cache/err.txt" >&2; exit 1; }
  local made_with=${venv##* }
  [[ "$made_with" == "$1" ]] || { echo "asked for $1, made with '$made_with'" >&2; cat "$cache/err.txt" >&2; exit 1; }
  rm -rf "${venv% *}"
  echo "$end - $start" | bc
}

echo "load before: $(uptime)"
# Warm-up: the project's venv, uv itself, and both installers' download caches.
run uv >/dev/null
run pip >/dev/null
uv_times=() pip_times=()
for ((round = 0; round < rounds; round++)); do
  if ((round % 2 == 0)); then order=(uv pip); else order=(pip uv); fi
  for installer in "${order[@]}"; do
    seconds=$(run "$installer")
    printf '%-4s %6.2f s\n' "$installer" "$seconds"
    if [[ $installer == uv ]]; then uv_times+=("$seconds"); else pip_times+=("$seconds"); fi
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
uv_median=$(median "${uv_times[@]}")
pip_median=$(median "${pip_times[@]}")
echo "median: uv $uv_median s, pip $pip_median s; pip/uv = $(echo "scale=2; $pip_median / $uv_median" | bc)x"
echo "load after: $(uptime)"
