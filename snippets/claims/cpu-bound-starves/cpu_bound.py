# Claim: asyncio's multitasking is cooperative: a CPU-bound loop without an `await` starves every
# other task. A ticker task wakes every 10 ms; the main task spins the CPU for 0.5 s without
# awaiting, then spins 0.5 s again but awaits asyncio.sleep(0) every millisecond. The probe
# counts the ticks inside each spin and the largest gap between ticks around it.
import asyncio
import json
import time

TICK_S = 0.01
SPIN_S = 0.5
ticks = []
work = 0


async def ticker():
    while True:
        ticks.append(time.perf_counter())
        await asyncio.sleep(TICK_S)


def spin_for(seconds):
    global work
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        work = (work * 31 + 7) % 1000003


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
    spin_start = time.perf_counter()
    spin_for(SPIN_S)
    spin_end = time.perf_counter()
    await asyncio.sleep(0.1)
    yielding_start = time.perf_counter()
    while time.perf_counter() - yielding_start < SPIN_S:
        spin_for(0.001)
        await asyncio.sleep(0)
    yielding_end = time.perf_counter()
    await asyncio.sleep(0.1)
    task.cancel()
    spin = window(spin_start, spin_end)
    yielding = window(yielding_start, yielding_end)
    print(
        json.dumps(
            {
                "tick_ms": TICK_S * 1000,
                "spin_ms": round((spin_end - spin_start) * 1000),
                "ticks_during_spin": spin[0],
                "max_gap_during_spin_ms": spin[1],
                "yielding_spin_ms": round((yielding_end - yielding_start) * 1000),
                "ticks_during_yielding_spin": yielding[0],
                "max_gap_during_yielding_spin_ms": yielding[1],
            }
        )
    )


asyncio.run(main())
