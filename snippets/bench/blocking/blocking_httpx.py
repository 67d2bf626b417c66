"""blocking: the fan-out of N requests to /delay/{D}, where each task first waits B ms, with httpx.

The wait is either a synchronous time.sleep that blocks the event loop's thread
(SIDEBYSIDE_BLOCKING=1, the stall the article warns about) or an awaited asyncio.sleep
(SIDEBYSIDE_BLOCKING=0). Blocking, the waits run one after another: about N*B + D in all.
Awaited, they overlap: about B + D.

Parameters (environment): SIDEBYSIDE_N (default 10), SIDEBYSIDE_DELAY_MS (default 100, one of
the mock's delays), SIDEBYSIDE_BLOCK_MS (default 20), SIDEBYSIDE_BLOCKING (1 or 0, default 1),
SIDEBYSIDE_BASE_URL (default https://api.example.com), SIDEBYSIDE_PY_LOOP (asyncio or uvloop).
Prints one JSON object on its last line:
  {"scenario": "blocking", "runtime": "python 3.11.7", "client": "httpx 0.28.1", "loop": "asyncio",
   "n": 10, "delay_ms": 100, "block_ms": 20, "blocking": true, "block_method": "time.sleep",
   "ok": 10, "elapsed_ms": 312.9}
Connections: Limits(max_connections=None) lifts httpx's default cap of 100, as in fan-out;
timeout=None turns off its default 5 s timeout. TLS: httpx reads SSL_CERT_FILE (trust_env).
"""

import asyncio
import json
import os
import platform
import sys
import time

import httpx

SCENARIO = "blocking"


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


N = integer("SIDEBYSIDE_N", 10)
DELAY_MS = integer("SIDEBYSIDE_DELAY_MS", 100)
BLOCK_MS = integer("SIDEBYSIDE_BLOCK_MS", 20)
BLOCKING_FLAG = integer("SIDEBYSIDE_BLOCKING", 1)
if BLOCKING_FLAG > 1:
    usage_error(f"SIDEBYSIDE_BLOCKING must be 0 or 1, got {BLOCKING_FLAG}")
BLOCKING = BLOCKING_FLAG == 1
BASE_URL = (os.environ.get("SIDEBYSIDE_BASE_URL", "") or "https://api.example.com").rstrip("/")
URL = f"{BASE_URL}/delay/{DELAY_MS}"


async def task(client):
    if BLOCKING:
        time.sleep(BLOCK_MS / 1000)
    else:
        await asyncio.sleep(BLOCK_MS / 1000)
    response = await client.get(URL)
    if response.status_code != 200:
        raise RuntimeError(f"GET {URL} answered {response.status_code}: {response.text[:300]}")
    body = response.json()
    if not isinstance(body, dict) or body.get("delay_ms") != DELAY_MS:
        raise RuntimeError(f"GET {URL} answered {body!r}, expected {{'delay_ms': {DELAY_MS}}}")
    return 1


async def main(loop_name):
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(limits=limits, timeout=None) as client:
        started = time.perf_counter()
        answers = await asyncio.gather(*(task(client) for _ in range(N)))
        elapsed_ms = (time.perf_counter() - started) * 1000
    print(
        json.dumps(
            {
                "scenario": SCENARIO,
                "runtime": f"python {platform.python_version()}",
                "client": f"httpx {httpx.__version__}",
                "loop": loop_name,
                "n": N,
                "delay_ms": DELAY_MS,
                "block_ms": BLOCK_MS,
                "blocking": BLOCKING,
                "block_method": "time.sleep" if BLOCKING else "asyncio.sleep",
                "ok": sum(answers),
                "elapsed_ms": round(elapsed_ms, 3),
            }
        )
    )


if __name__ == "__main__":
    raise_open_files_limit()
    asyncio.run(main(choose_event_loop()))
