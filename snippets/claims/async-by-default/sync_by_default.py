# Claim: Python is sync by default and async is opt-in. A plain I/O call (urllib, the standard
# library's `requests`) hands back the finished answer, not something to await; time.sleep
# blocks and returns None; only the asyncio versions give an awaitable.
import asyncio
import inspect
import json
import time
import urllib.request

SLEEP_S = 0.2

response = urllib.request.urlopen("https://api.example.com/data", timeout=20)
data = json.load(response)

started = time.perf_counter()
slept = time.sleep(SLEEP_S)
blocked_ms = (time.perf_counter() - started) * 1000

coroutine = asyncio.sleep(SLEEP_S)
asyncio_sleep_awaitable = inspect.isawaitable(coroutine)
coroutine.close()  # never awaited on purpose: this file starts no event loop

print(
    json.dumps(
        {
            "urlopen_returns": type(response).__name__,
            "urlopen_result_is_awaitable": inspect.isawaitable(response),
            "status": response.status,
            "data_id": data["id"],
            "sleep_ms": SLEEP_S * 1000,
            "time_sleep_returns": repr(slept),
            "time_sleep_blocked_ms": round(blocked_ms, 1),
            "asyncio_sleep_returns": type(coroutine).__name__,
            "asyncio_sleep_is_awaitable": asyncio_sleep_awaitable,
        }
    )
)
