"""sequential: N requests to the mock's /item/{i}, each awaited before the next is sent, with httpx.

Measures the cost of one request-response round trip on one kept-alive connection.

Parameters (environment): SIDEBYSIDE_N (default 10), SIDEBYSIDE_BASE_URL (default
https://api.example.com), SIDEBYSIDE_PY_LOOP (asyncio or uvloop, default asyncio). Prints one
JSON object on its last line:
  {"scenario": "sequential", "runtime": "python 3.11.7", "client": "httpx 0.28.1",
   "loop": "asyncio", "n": 10, "ok": 10, "elapsed_ms": 31.5}
httpx's default 5 s timeout is turned off (timeout=None), like the other clients' (minutes).
TLS: httpx reads SSL_CERT_FILE (trust_env), the CA sidebyside's mock is signed by.
"""

import asyncio
import json
import os
import platform
import sys
import time

import httpx

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


async def fetch_item(client, index):
    url = f"{BASE_URL}/item/{index}"
    response = await client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    body = response.json()
    if not isinstance(body, dict) or body.get("ok") is not True:
        raise RuntimeError(f"GET {url} answered {body!r}, expected {{'ok': True, ...}}")
    return 1


async def main(loop_name):
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(limits=limits, timeout=None) as client:
        ok = 0
        started = time.perf_counter()
        for index in range(N):
            ok += await fetch_item(client, index)
        elapsed_ms = (time.perf_counter() - started) * 1000
    print(
        json.dumps(
            {
                "scenario": SCENARIO,
                "runtime": f"python {platform.python_version()}",
                "client": f"httpx {httpx.__version__}",
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
