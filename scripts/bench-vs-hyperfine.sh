#!/usr/bin/env bash
# Compares sidebyside's measurements of small programs with hyperfine's (wall time) and GNU
# time's (peak memory), on the same machine in the same session, alternating the tools so a
# drift of the machine hits both alike. Needs hyperfine and GNU time (`apt-get install -y
# hyperfine time`) and a release build (`cargo build --release`).
#
#   scripts/bench-vs-hyperfine.sh [ROUNDS] [RUNS]      (default 10 rounds of 10 runs)
#   ISOLATION=preload scripts/bench-vs-hyperfine.sh     (default: auto)
#   PREPARE='unshare -Urnm /bin/true' scripts/bench-vs-hyperfine.sh
#                             (hyperfine runs PREPARE before each run, as sidebyside sets up a
#                              namespace and a mock between runs)
#   PROGRAMS='/usr/bin/node -e 0;/bin/true' scripts/bench-vs-hyperfine.sh
#                             (default: Python's and Node's start-up, /bin/true, and `dd` copying
#                              100000 single bytes: 200000 system calls in about 30 ms, the
#                              program a per-call cost of the sandbox would show)
#   BENCH_FLAGS=--syscall-filter scripts/bench-vs-hyperfine.sh
#                             (more options for sidebyside's bench, here to keep the seccomp
#                              filter that bench leaves off, and see what it costs)
#   INSIDE=1 scripts/bench-vs-hyperfine.sh
#                             (hyperfine runs inside sidebyside's sandbox: started by
#                              `sidebyside bench --command hyperfine ...`, so that its program
#                              runs where sidebyside's does, in the same isolation. What is
#                              compared is then the two timers alone, the sandbox's cost to the
#                              program's start-up being in both)
#   SETTLE=0.5 scripts/bench-vs-hyperfine.sh
#                             (seconds of pause before each tool's round, default 0.2, so that
#                              what the kernel finishes after one tool, such as the teardown of
#                              sidebyside's network namespace, does not fall in the other's runs)
#   LOAD=1 scripts/bench-vs-hyperfine.sh 16 10
#                             (the same comparison under load: LOAD busy loops run for the
#                              whole comparison, free to move between cores, or pinned with
#                              LOAD_CORES=1 (a `taskset -c` list); the load average before and
#                              after is printed with the tables)
#   MAX_ROUNDS=60 scripts/bench-vs-hyperfine.sh 16 10
#                             (after the 16 rounds, a program whose target is still undecided
#                              gets more rounds, one at a time, until it is met or missed or
#                              it has had 60; on a noisy machine only more rounds can decide.
#                              Stopping as soon as the interval allows makes a verdict somewhat
#                              less sure than the interval's 95%: confirm it with a second run)
#
# Each round runs every program RUNS times under each tool, the tools' order alternating from
# round to round. Prints, per program, the median wall time over all runs of each tool and
# their difference, the median of the per-round differences (which a drift of the machine
# between rounds does not move), and the median peak resident memory from sidebyside and
# from GNU time. A second table says how far that can be trusted: the per-round difference's
# 95% bootstrap interval (in percent and in milliseconds), the spread of the per-round
# differences (their standard deviation), and the two tools' pooled samples compared at the
# 10th, 25th and 50th percentiles. Last, per program, whether the target holds: a start-up within
# 1% of hyperfine's per round, a program of a few milliseconds within 0.1 ms (met, missed, or
# undecided when the 95% interval straddles the target).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
runs=${2:-10}
sidebyside=target/release/sidebyside
for tool in hyperfine /usr/bin/time "$sidebyside"; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
python=$(python3 -c 'import sys; print(sys.executable)')
node=$(command -v node)
dd=$(command -v dd)
programs=("$python -c pass" "$node -e 0" "/bin/true" "$dd if=/dev/zero of=/dev/null bs=1 count=100000 status=none")
if [[ -n "${PROGRAMS:-}" ]]; then IFS=";" read -r -a programs <<<"$PROGRAMS"; fi
work=$(mktemp -d)
loaders=()
stop_load() { ((${#loaders[@]})) && kill "${loaders[@]}" 2>/dev/null; wait 2>/dev/null; true; }
trap 'stop_load; rm -rf "$work"' EXIT
load=${LOAD:-0}
[[ "$load" =~ ^[0-9]+$ ]] || { echo "LOAD must be a number of busy loops, not '$load'" >&2; exit 2; }
pin=()
if [[ -n "${LOAD_CORES:-}" ]]; then
  command -v taskset >/dev/null || { echo "LOAD_CORES needs taskset (util-linux)" >&2; exit 2; }
  taskset -c "$LOAD_CORES" true 2>/dev/null || { echo "LOAD_CORES: no such cores: $LOAD_CORES" >&2; exit 2; }
  pin=(taskset -c "$LOAD_CORES")
fi
for _ in $(seq "$load"); do
  "${pin[@]}" sh -c 'while :; do :; done' &
  loaders+=($!)
done
before=$(cut -d' ' -f1-3 /proc/loadavg)
# sidebyside starts programs with a clean environment (PATH, HOME, LANG, TMPDIR) plus its own
# variables, among them NODE_EXTRA_CA_CERTS and SSL_CERT_FILE naming its one-certificate CA.
# Give hyperfine's and time's programs the same: NODE_EXTRA_CA_CERTS alone makes `node -e 0`
# load its whole root store at start-up (about twice the start-up time), so any difference in
# it would be a difference of programs, not of measurement.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/ca.pem" -days 1 \
  -subj /CN=sidebyside-comparison >/dev/null 2>&1
clean=(env -i "PATH=$PATH" "HOME=$HOME" "LANG=C.UTF-8" "TMPDIR=${TMPDIR:-/tmp}"
  "NODE_EXTRA_CA_CERTS=$work/ca.pem" "SSL_CERT_FILE=$work/ca.pem")

max_rounds=${MAX_ROUNDS:-$rounds}
settle=${SETTLE:-0.2}
((max_rounds >= rounds)) || { echo "MAX_ROUNDS ($max_rounds) is below ROUNDS ($rounds)" >&2; exit 2; }
# The comparison itself, in Python: `decided WORK INDEX` answers whether a program's target is
# met or missed after the rounds so far (exit 0) or still undecided (exit 1); `summary WORK
# PROGRAM...` prints the tables.
cat >"$work/compare.py" <<'PYTHON'
import json, os, random, statistics, sys

def interval(values, resamples=2000):
    """95% bootstrap interval (percentile method, fixed seed) of the median of values."""
    draw = random.Random(1)
    medians = sorted(statistics.median(draw.choices(values, k=len(values)))
                     for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]

def quantile(values, q):
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1) + 0.5)]

def rounds_of(work, index):
    count = 0
    while os.path.exists(f"{work}/hyperfine-{index}-{count + 1}.json"):
        count += 1
    return count

def measured(work, index):
    """Every round of one program: both tools' wall times, per-round differences, memory."""
    m = {key: [] for key in ("hyperfine", "ours", "per_round", "per_round_ms", "time_rss", "our_rss")}
    for round in range(1, rounds_of(work, index) + 1):
        theirs = json.load(open(f"{work}/hyperfine-{index}-{round}.json"))["results"][0]["times"]
        document = json.load(open(f"{work}/sidebyside-{index}-{round}/results.json"))
        samples = document["bench"]["scenarios"][0]["cases"][0]["samples"]
        mine = [sample["wall_s"] for sample in samples]
        m["hyperfine"].extend(theirs)
        m["ours"].extend(mine)
        m["per_round"].append(statistics.median(mine) / statistics.median(theirs) - 1)
        m["per_round_ms"].append(1000 * (statistics.median(mine) - statistics.median(theirs)))
        m["our_rss"].extend(sample["peak_rss_bytes"] / 1024 for sample in samples)
        m["time_rss"].extend(float(line) for line in open(f"{work}/time-{index}-{round}.txt")
                             if line.strip())
    return m

# The targets this comparison checks: a start-up of real size timed within 1% of hyperfine's
# (per round), and a program of about a millisecond within 0.1 ms (a fixed cost). Met when the
# whole 95% interval is inside the target, missed when it is wholly outside, otherwise the runs
# cannot tell (more rounds, or a quieter machine, can).
def verdict(m):
    if statistics.median(m["hyperfine"]) * 1000 < 10:
        target, shown, (low, high) = 0.1, "0.1 ms", interval(m["per_round_ms"])
    else:
        target, shown, (low, high) = 0.01, "1%", interval(m["per_round"])
    if -target <= low and high <= target:
        return shown, "met"
    if low > target or high < -target:
        return shown, "missed"
    return shown, "undecided"

mode, work = sys.argv[1], sys.argv[2]
if mode == "decided":
    index = int(sys.argv[3])
    m = measured(work, index)
    shown, answer = verdict(m)
    print(f"  program {index + 1}: {answer} (within {shown}?) after {len(m['per_round'])} rounds",
          file=sys.stderr)
    sys.exit(0 if answer != "undecided" else 1)

programs = sys.argv[3:]
print(f"{'program':<32} {'hyperfine':>11} {'sidebyside':>11} {'diff':>7} {'per round':>9}   "
      f"{'GNU time RSS':>12} {'sidebyside RSS':>14} {'diff':>7}")
detail = []
for index, program in enumerate(programs):
    m = measured(work, index)
    h, o = statistics.median(m["hyperfine"]), statistics.median(m["ours"])
    t, r = statistics.median(m["time_rss"]), statistics.median(m["our_rss"])
    print(f"{program[-32:]:<32} {h*1000:>8.2f} ms {o*1000:>8.2f} ms {100*(o-h)/h:>+6.1f}% "
          f"{100*statistics.median(m['per_round']):>+8.1f}%   "
          f"{t/1024:>8.1f} MiB {r/1024:>10.1f} MiB {100*(r-t)/t:>+6.1f}%")
    detail.append((program, m))

# How far the per-round figure can be trusted: its 95% interval over the rounds, how much one
# round differs from the next, and the two tools' whole distributions compared quantile by
# quantile (interference from the rest of the machine only ever adds time, so the lower
# quantiles are the least disturbed).
print()
print(f"{'program':<32} {'rounds':>6} {'per round, 95% interval':>24} {'in ms':>26} "
      f"{'round spread':>12} {'p10':>7} {'p25':>7} {'p50':>7}")
for program, m in detail:
    low, high = interval(m["per_round"])
    low_ms, high_ms = interval(m["per_round_ms"])
    p10, p25, p50 = (100 * (quantile(m["ours"], q) / quantile(m["hyperfine"], q) - 1)
                     for q in (0.1, 0.25, 0.5))
    spread = statistics.stdev(m["per_round"]) if len(m["per_round"]) > 1 else 0.0
    print(f"{program[-32:]:<32} {len(m['per_round']):>6} {100*low:>+10.1f}% to {100*high:>+6.1f}% "
          f"{statistics.median(m['per_round_ms']):>+8.3f} ms [{low_ms:+.3f}, {high_ms:+.3f}] "
          f"{100*spread:>11.1f}% {p10:>+6.1f}% {p25:>+6.1f}% {p50:>+6.1f}%")

print()
for program, m in detail:
    shown, answer = verdict(m)
    print(f"{program[-32:]:<32} within {shown} of hyperfine per round: {answer}")
PYTHON

for index in "${!programs[@]}"; do
  program=${programs[$index]}
  round=0
  while :; do
    round=$((round + 1))
    hyperfine_round() {
      if [[ -n "${INSIDE:-}" ]]; then
        # hyperfine as the program of a one-run bench: it runs in the run's sandbox, its program
        # too, and writes its results in the run's working directory, kept (--keep-temp).
        local quoted kept
        quoted=$(printf '%q' "$program")
        "$sidebyside" bench --command "$(command -v hyperfine) -N --style none --warmup 2 --runs $runs --export-json hyperfine.json $quoted" \
          --warmup 0 --runs 1 --isolation "${ISOLATION:-auto}" --keep-temp \
          --out "$work/inside-$index-$round" --format json >/dev/null 2>"$work/inside.err" || true
        kept=$(sed -n 's/.*kept the run directories in //p' "$work/inside.err")
        if [[ -z "$kept" || ! -f "$kept/run-1/work/hyperfine.json" ]]; then
          echo "hyperfine inside sidebyside's sandbox failed:" >&2; cat "$work/inside.err" >&2; exit 2
        fi
        cp "$kept/run-1/work/hyperfine.json" "$work/hyperfine-$index-$round.json"
        rm -rf "$kept"
        return
      fi
      "${clean[@]}" hyperfine -N --style none --warmup 2 --runs "$runs" ${PREPARE:+--prepare "$PREPARE"} \
        --export-json "$work/hyperfine-$index-$round.json" "$program" >/dev/null 2>&1
    }
    sidebyside_round() {
      # shellcheck disable=SC2086 # BENCH_FLAGS is words
      "$sidebyside" bench --command "$program" --warmup 2 --runs "$runs" --isolation "${ISOLATION:-auto}" ${BENCH_FLAGS:-} \
        --out "$work/sidebyside-$index-$round" --format json >/dev/null 2>&1
    }
    # A pause before each tool's round: when sidebyside ends, the kernel tears its kept network
    # namespace down in a worker of its own, about 50 ms of CPU that would otherwise fall in
    # the first runs hyperfine times next (a trace found it there).
    if ((round % 2)); then
      sleep "$settle"; hyperfine_round; sleep "$settle"; sidebyside_round
    else
      sleep "$settle"; sidebyside_round; sleep "$settle"; hyperfine_round
    fi
    # The program's words as a shell would split them (hyperfine -N and sidebyside --command
    # both honour quotes: PROGRAMS="/bin/sh -c 'exec /bin/true'").
    eval "words=($program)"
    for _ in $(seq 3); do
      "${clean[@]}" /usr/bin/time -f '%M' -o "$work/time-$index-$round.txt" -a "${words[@]}" >/dev/null 2>&1
    done
    if ((round >= rounds)); then
      ((round < max_rounds)) || break
      python3 "$work/compare.py" decided "$work" "$index" && break
    fi
  done
done

stop_load
((load)) && echo "under load: $load busy loop(s)${LOAD_CORES:+ pinned to cores $LOAD_CORES}, free otherwise; load average $before before, $(cut -d' ' -f1-3 /proc/loadavg) after"
[[ -n "${INSIDE:-}" ]] && echo "hyperfine ran inside sidebyside's sandbox (INSIDE=1, isolation ${ISOLATION:-auto}): the columns compare the two timers alone"
python3 "$work/compare.py" summary "$work" "${programs[@]}"
