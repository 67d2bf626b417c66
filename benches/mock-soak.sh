#!/usr/bin/env bash
# Soak test of `sidebyside mock` on loopback, bounded in time: for DURATION seconds it is driven at
# once by wrk (keep-alive load), a slowloris crowd (idle connections and request heads that never
# end, more than the connection cap), partial HTTP/2 prefaces that close, and large POST bodies
# (over and under the body limit). The mock's resident memory, open descriptors and CPU time are
# printed before, every few seconds during, and after (once the attackers are gone).
# Needs wrk (Debian: apt-get install -y wrk), curl and python3. Nothing leaves 127.0.0.1.
#
#   benches/mock-soak.sh                    # 30 s
#   DURATION=120 SLOWLORIS=1100 benches/mock-soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30}
SLOWLORIS=${SLOWLORIS:-600}
NOFILE=${NOFILE:-1024}
command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 2; }
cargo build --release --quiet --bin sidebyside
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

prlimit --nofile="$NOFILE:$NOFILE" target/release/sidebyside mock \
    --mock tests/fixtures/mocks/multi-host --port 0 >"$work/mock.log" &
mock=$!
for _ in $(seq 100); do grep -q "Ctrl-C stops" "$work/mock.log" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o '127.0.0.1:[0-9]*' "$work/mock.log" | head -1 | cut -d: -f2)
hz=$(getconf CLK_TCK)
sample() {
    local rss ticks fds
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$mock/status")
    ticks=$(awk '{print $14 + $15}' "/proc/$mock/stat")
    fds=$(ls "/proc/$mock/fd" | wc -l)
    printf '%-8s RSS %7.1f MiB  CPU %7.2f s  descriptors %5d\n' "$1" "$(echo "$rss / 1024" | bc -l)" \
        "$(echo "$ticks / $hz" | bc -l)" "$fds"
}
sample before

# Attackers, each ending by itself after DURATION seconds.
taskset -c 0 wrk -t1 -c64 -d"${DURATION}s" -H 'Host: python.org' \
    "http://127.0.0.1:$port/downloads/" >"$work/wrk.txt" &
python3 - "$port" "$DURATION" "$SLOWLORIS" <<'PY' &
import socket, sys, time
port, duration, count = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
end = time.time() + duration
crowd = []
while time.time() < end:
    # Slowloris: top the crowd up (the mock closes the longest idle to make room).
    crowd = [s for s in crowd if s.fileno() != -1]
    while len(crowd) < count:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
            if len(crowd) % 2:
                s.send(b"GET /downloads/ HTTP/1.1\r\nHost: python.org\r\nX-Slow: ")
            crowd.append(s)
        except OSError:
            break
    # Partial HTTP/2 prefaces, then close.
    for preface in (b"P", b"PRI * HTTP/2.0\r\n") * 50:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
            s.send(preface)
            s.close()
        except OSError:
            pass
    time.sleep(0.5)
PY
head -c $((60 << 20)) /dev/zero >"$work/60mb"
head -c $((80 << 20)) /dev/zero >"$work/80mb"
(
    end=$((SECONDS + DURATION))
    while ((SECONDS < end)); do
        for body in 60mb 80mb; do
            curl -s -o /dev/null -w "%{http_code} " -H 'Host: httpbin.org' \
                --data-binary @"$work/$body" "http://127.0.0.1:$port/post" || true
        done
    done >"$work/posts.txt"
) &

for ((elapsed = 5; elapsed <= DURATION; elapsed += 5)); do
    sleep 5
    sample "${elapsed}s"
done
wait %2 %3 %4 2>/dev/null || true
sleep 3
sample after
# A fresh client is still served, at once.
start=$(date +%s%N)
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: python.org' "http://127.0.0.1:$port/downloads/")
echo "fresh client after the soak: HTTP $status in $(( ($(date +%s%N) - start) / 1000000 )) ms"
idle_before=$(awk '{print $14 + $15}' "/proc/$mock/stat"); sleep 2
echo "CPU ticks over 2 s idle after the soak: $(( $(awk '{print $14 + $15}' "/proc/$mock/stat") - idle_before ))"
echo "wrk: $(awk '/Requests\/sec/ {print $2 " req/s"}' "$work/wrk.txt"), $(grep -o '[0-9]* requests in' "$work/wrk.txt")"
echo "large POSTs (60 MiB answered by the mapping's 404 near miss, 80 MiB over the 64 MiB limit):"
tr ' ' '\n' <"$work/posts.txt" | grep . | sort | uniq -c
kill -TERM "$mock"; wait "$mock" || true
