#!/usr/bin/env bash
# Loopback load test of the mock beside a bare hyper server answering the same bytes (and the
# wiremock crate, for reference), each server pinned to one core and wrk to the other.
# Needs wrk (Debian: apt-get install -y wrk). For each server: requests/s at CONNECTIONS
# connections and the median latency at 1 connection, each the median of ROUNDS rounds that
# visit the servers in turn (so a drift of the machine hits all alike); then the mock's ratios
# to the bare server.
#
#   benches/mock-wrk.sh                                  # 3 rounds of 5 s, 64 connections
#   ROUNDS=5 DURATION=10s CONNECTIONS=128 benches/mock-wrk.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 2; }
cargo build --release --quiet --example bare_server --example mock_server --example wiremock_server

servers=("bare hyper|bare_server|" "sidebyside mock, full journal|mock_server|JOURNAL=full"
         "sidebyside mock, counts only|mock_server|JOURNAL=counts" "wiremock 0.6|wiremock_server|")
declare -A throughput latency cpu_per_request
port=18180
for round in $(seq "$ROUNDS"); do
    for server in "${servers[@]}"; do
        IFS='|' read -r label example setting <<<"$server"
        port=$((port + 1))
        env ${setting:+"$setting"} taskset -c "$SERVER_CPU" "target/release/examples/$example" \
            "127.0.0.1:$port" >/dev/null &
        pid=$!
        url="http://127.0.0.1:$port/data"
        for _ in $(seq 50); do
            curl -sf -o /dev/null -H 'Host: api.example.com' "$url" && break
            sleep 0.1
        done
        many=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -H 'Host: api.example.com' "$url")
        one=$(taskset -c "$CLIENT_CPU" wrk -t1 -c1 -d"$DURATION" --latency -H 'Host: api.example.com' "$url")
        # The server's own CPU time (user + system, in clock ticks) over both wrk runs.
        ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat")
        kill -TERM "$pid"; wait "$pid" || true
        if grep -q "Non-2xx\|Socket errors" <<<"$many$one"; then
            echo "errors from $label:" >&2; echo "$many$one" >&2; exit 1
        fi
        rps=$(awk '/Requests\/sec/ {print $2}' <<<"$many")
        # wrk prints e.g. "50%   62.00us" or "50%    1.02ms"; convert to microseconds.
        median=$(awk '/ 50%/ {v=$2; if (v ~ /ms$/) {sub("ms","",v); v*=1000} else {sub("us","",v)}; print v}' <<<"$one")
        served=$(awk '/requests in/ {n += $1} END {print n}' <<<"$many$one")
        cpu=$(awk -v t="$ticks" -v n="$served" -v hz="$(getconf CLK_TCK)" 'BEGIN {print t / hz / n * 1e6}')
        throughput[$label]+="$rps "
        cpu_per_request[$label]+="$cpu "
        latency[$label]+="$median "
        printf 'round %s  %-30s %10.0f req/s (c=%s)  median %6.1f us (c=1)  CPU %5.2f us/request\n' \
            "$round" "$label" "$rps" "$CONNECTIONS" "$median" "$cpu"
    done
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
echo
bare_rps=$(median "${throughput[bare hyper]}")
bare_latency=$(median "${latency[bare hyper]}")
bare_cpu=$(median "${cpu_per_request[bare hyper]}")
printf '%-30s %12s %8s %14s %10s %14s %8s\n' server "req/s (c=$CONNECTIONS)" "ratio" "median (c=1)" "added" \
    "CPU/request" "ratio"
for server in "${servers[@]}"; do
    label=${server%%|*}
    rps=$(median "${throughput[$label]}")
    med=$(median "${latency[$label]}")
    cpu=$(median "${cpu_per_request[$label]}")
    awk -v l="$label" -v r="$rps" -v b="$bare_rps" -v m="$med" -v bm="$bare_latency" -v c="$cpu" -v bc="$bare_cpu" \
        'BEGIN { printf "%-30s %12.0f %8.2f %11.1f us %+7.1f us %11.2f us %8.2f\n", l, r, r / b, m, m - bm, c, bc / c }'
done
echo "(ratio: of the bare server's requests/s; CPU ratio: bare CPU per request / this server's, the"
echo " share of the bare server's throughput it would reach on a core of its own)"
