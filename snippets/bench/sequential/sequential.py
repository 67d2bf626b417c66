"""sequential: N requests to the mock's /item/{i}, each awaited before the next is sent, with aiohttp.

Measures the cost of one request-response round trip on one kept-alive connection.

Parameters (environment): SIDEBYSIDE_N (default 10), SIDEBYSIDE_BASE_URL (default
https://api.example.com), SIDEBYSIDE_PY_LOOP (asyncio or uvloop, default asyncio). Prints one
JSON object on its last line:
  {"scenario": "sequential", "runtime": "python 3.11.7", "client": "aiohttp 3.13.5",
   "loop": "asyncio", "n": 10, "ok": 10, "elapsed_ms": 31.5}
"""

import asyncio
import json
import os
import platform
import sys
import time

import aiohttp

SCENARIO = "sequential"


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
BASE_URL = (os.environ.get("SIDEBYSIDE_BASE_URL", "") or "https://api.example.com").rstrip("/")


async def fetch_item(session, index):
    url = f"{BASE_URL}/item/{index}"
    async with session.get(url) as response:
        if response.status != 200:
            text = await response.text()
            raise RuntimeError(f"GET {url} answered {response.status}: {text[:300]}")
        body = await response.json()
    if not isinstance(body, dict) or body.get("ok") is not True:
        raise RuntimeError(f"GET {url} answered {body!r}, expected {{'ok': True, ...}}")
    return 1


async def main(loop_name):
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        ok = 0
        started = time.perf_counter()
        for index in range(N):
            ok += await fetch_item(session, index)
        elapsed_ms = (time.perf_counter() - started) * 1000
    print(
        json.dumps(
            {
                "scenario": SCENARIO,
                "runtime": f"python {platform.python_version()}",
                "client": f"aiohttp {aiohttp.__version__}",
                "loop": loop_name,
                "n": N,
                "ok": ok,
                "elapsed_ms": round(elapsed_ms, 3),
            }
        )
    )


if __name__ == "__main__":
    raise_open_files_limit()
    asyncio.run(main(choose_event_loop()))
