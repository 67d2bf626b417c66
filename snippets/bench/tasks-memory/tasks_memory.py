"""tasks-memory: N concurrent asyncio tasks that each wait D ms, no I/O.

The program of "How much memory do you need to run 1 million concurrent tasks?": every task is
created first (asyncio.create_task around asyncio.sleep, so each one is a real Task with its own
timer, like tokio::spawn(sleep(...))), then all are awaited with asyncio.gather. The harness
measures peak memory; the program reports how long creating and finishing took.

Parameters (environment): SIDEBYSIDE_N (default 1000), SIDEBYSIDE_DELAY_MS (default 1000; the
published comparison used 10000), SIDEBYSIDE_PY_LOOP (asyncio or uvloop, default asyncio).
Prints one JSON object on its last line:
  {"scenario": "tasks-memory", "runtime": "python 3.11.7", "loop": "asyncio", "n": 1000,
   "delay_ms": 1000, "ok": 1000, "spawn_ms": 2.1, "elapsed_ms": 1004.2}
"""

import asyncio
import json
import os
import platform
import sys
import time

SCENARIO = "tasks-memory"


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


N = integer("SIDEBYSIDE_N", 1000)
DELAY_MS = integer("SIDEBYSIDE_DELAY_MS", 1000)


async def main(loop_name):
    delay_s = DELAY_MS / 1000
    started = time.perf_counter()
    tasks = [asyncio.create_task(asyncio.sleep(delay_s, 1)) for _ in range(N)]
    spawn_ms = (time.perf_counter() - started) * 1000
    finished = await asyncio.gather(*tasks)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(
        json.dumps(
            {
                "scenario": SCENARIO,
                "runtime": f"python {platform.python_version()}",
                "loop": loop_name,
                "n": N,
                "delay_ms": DELAY_MS,
                "ok": sum(finished),
                "spawn_ms": round(spawn_ms, 3),
                "elapsed_ms": round(elapsed_ms, 3),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(choose_event_loop()))
