"""throughput: C workers keep one request each in flight to the mock's /item/{i} for T seconds, with aiohttp.

Reports requests per second and latency percentiles.

Closed loop (SIDEBYSIDE_RATE unset or 0): each worker sends its next request as soon as the
previous answer arrived; latency runs from the moment a request is sent.
Fixed rate (SIDEBYSIDE_RATE=R > 0): request k is due at start + k/R seconds (worker k mod C
sends it, waiting until it is due); latency runs from when it was DUE, not when it was sent, so
a stall that delays later requests counts against them (the coordinated-omission correction of
wrk2 and `oha --latency-correction`).

Parameters (environment): SIDEBYSIDE_CONCURRENCY (default 10), SIDEBYSIDE_DURATION_S (default
1), SIDEBYSIDE_RATE (default 0), SIDEBYSIDE_TIMEOUT_MS (per request, default 5000),
SIDEBYSIDE_BASE_URL (default https://api.example.com), SIDEBYSIDE_PY_LOOP (asyncio or uvloop).
Prints one JSON object on its last line with sent, ok (answered 200 with the expected body),
errors, timeouts, elapsed_ms, requests_per_s (ok per second), p50_ms, p90_ms, p99_ms, max_ms.
Exits 1 if nothing succeeded.
Connections: TCPConnector(limit=0) lifts aiohttp's default cap of 100 connections, so C can
grow past 100 as it can with Node's fetch and reqwest.
"""

import asyncio
import json
import math
import os
import platform
import sys
import time

import aiohttp

SCENARIO = "throughput"


def usage_error(message):
    print(f"{SCENARIO}: {message}", file=sys.stderr)
    sys.exit(2)


def integer(name, default):
    text = os.environ.get(name, "")
    if text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        usage_error(f"{name} must be a whole number >= 0, got {text!r}")
    return value


def choose_event_loop():
    """SIDEBYSIDE_PY_LOOP=uvloop runs asyncio on uvloop; unset or "asyncio" keeps the default."""
    choice = os.environ.get("SIDEBYSIDE_PY_LOOP", "") or "asyncio"
    if choice == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    elif choice != "asyncio":
        usage_error(f"SIDEBYSIDE_PY_LOOP must be asyncio or uvloop, got {choice!r}")
    return choice


def raise_open_files_limit():
    """Lifts the soft limit on open files to the hard limit, as Node does at start-up, so that
    thousands of connections do not fail with "Too many open files"."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass  # keep the soft limit; a run that needs more fails with its own error


def number(name, default, whole=False, positive=False):
    text = os.environ.get(name, "")
    if text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    valid = math.isfinite(value) and (value > 0 if positive else value >= 0)
    if whole:
        valid = valid and value == int(value)
    if not valid:
        kind = ("a whole number" if whole else "a number") + (" > 0" if positive else " >= 0")
        usage_error(f"{name} must be {kind}, got {text!r}")
    return int(value) if whole else value


CONCURRENCY = number("SIDEBYSIDE_CONCURRENCY", 10, whole=True, positive=True)
DURATION_S = number("SIDEBYSIDE_DURATION_S", 1.0, positive=True)
RATE = number("SIDEBYSIDE_RATE", 0.0)
TIMEOUT_MS = number("SIDEBYSIDE_TIMEOUT_MS", 5000, whole=True, positive=True)
TIMEOUT = aiohttp.ClientTimeout(total=TIMEOUT_MS / 1000)
BASE_URL = (os.environ.get("SIDEBYSIDE_BASE_URL", "") or "https://api.example.com").rstrip("/")


class Stats:
    def __init__(self):
        self.sent = 0
        self.ok = 0
        self.errors = 0
        self.timeouts = 0
        self.latencies = []
        self.first_error = None

    def error(self, message):
        self.errors += 1
        if self.first_error is None:
            self.first_error = message


async def worker(session, first, started, end):
    stats = Stats()
    index = first
    while True:
        if RATE > 0:
            due = started + index / RATE
            if due >= end:
                break
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
        else:
            due = time.perf_counter()
            if due >= end:
                break
        url = f"{BASE_URL}/item/{index}"
        index += CONCURRENCY
        stats.sent += 1
        try:
            async with session.get(url, timeout=TIMEOUT) as response:
                status = response.status
                text = await response.text()
        except asyncio.TimeoutError:
            stats.timeouts += 1
            continue
        except Exception as error:  # any failure of one request is counted, not fatal
            stats.error(f"GET {url}: {type(error).__name__}: {error}")
            continue
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if status == 200 and isinstance(body, dict) and body.get("ok") is True:
            stats.ok += 1
            stats.latencies.append((time.perf_counter() - due) * 1000)
        else:
            stats.error(f"GET {url} answered {status}: {text[:300]}")
    return stats


def percentile(ordered, p):
    """Nearest-rank percentile of sorted values: the smallest value with at least p% at or below it."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def rounded(ms):
    return None if ms is None else round(ms, 3)


async def main(loop_name):
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        end = started + DURATION_S
        workers = await asyncio.gather(
            *(worker(session, first, started, end) for first in range(CONCURRENCY))
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
    totals = {
        key: sum(getattr(stats, key) for stats in workers)
        for key in ("sent", "ok", "errors", "timeouts")
    }
    latencies = sorted(latency for stats in workers for latency in stats.latencies)
    first_error = next((stats.first_error for stats in workers if stats.first_error), None)
    if first_error is not None:
        print(f"{SCENARIO}: first error: {first_error}", file=sys.stderr)
    if totals["timeouts"]:
        print(f"{SCENARIO}: {totals['timeouts']} requests timed out after {TIMEOUT_MS} ms", file=sys.stderr)
    print(
        json.dumps(
            {
                "scenario": SCENARIO,
                "runtime": f"python {platform.python_version()}",
                "client": f"aiohttp {aiohttp.__version__}",
                "loop": loop_name,
                "concurrency": CONCURRENCY,
                "duration_s": DURATION_S,
                "rate": RATE,
                "latency_corrected": RATE > 0,
                **totals,
                "elapsed_ms": rounded(elapsed_ms),
                "requests_per_s": round(totals["ok"] / (elapsed_ms / 1000), 1),
                "p50_ms": rounded(percentile(latencies, 50)),
                "p90_ms": rounded(percentile(latencies, 90)),
                "p99_ms": rounded(percentile(latencies, 99)),
                "max_ms": rounded(latencies[-1] if latencies else None),
            }
        )
    )
    if totals["ok"] == 0:
        print(f"{SCENARIO}: no request succeeded", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    raise_open_files_limit()
    asyncio.run(main(choose_event_loop()))
