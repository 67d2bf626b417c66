# Claim: a blocking call inside async code stalls every other task. A ticker task wakes every
# 10 ms; the main task first calls time.sleep(0.5) (blocking), then awaits asyncio.sleep(0.5).
# The probe counts the ticks inside each window and the largest gap between ticks around it.
import asyncio
import json
import time

TICK_S = 0.01
WAIT_S = 0.5
ticks = []


async def ticker():
    while True:
        ticks.append(time.perf_counter())
        await asyncio.sleep(TICK_S)


def window(start, end):
    inside = [t for t in ticks if start < t < end]
    before = [t for t in ticks if t <= start][-1:] or [start]
    after = [t for t in ticks if t >= end][:1] or [end]
    points = before + inside + after
    gap = max(b - a for a, b in zip(points, points[1:]))
    return len(inside), round(gap * 1000)


async def main():
    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.1)
    block_start = time.perf_counter()
    time.sleep(WAIT_S)
    block_end = time.perf_counter()
    await asyncio.sleep(0.1)
    async_start = time.perf_counter()
    await asyncio.sleep(WAIT_S)
    async_end = time.perf_counter()
    await asyncio.sleep(0.1)
    task.cancel()
    blocked = window(block_start, block_end)
    awaited = window(async_start, async_end)
    print(
        json.dumps(
            {
                "tick_ms": TICK_S * 1000,
                "block_ms": round((block_end - block_start) * 1000),
                "ticks_during_block": blocked[0],
                "max_gap_during_block_ms": blocked[1],
                "async_wait_ms": round((async_end - async_start) * 1000),
                "ticks_during_async_wait": awaited[0],
                "max_gap_during_async_wait_ms": awaited[1],
            }
        )
    )


asyncio.run(main())
