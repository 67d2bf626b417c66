# Claim: Python's event loop must be started with asyncio.run(). At top level no loop runs;
# calling the article's fetch_data() only makes a coroutine, and nothing happens (the mock sees
# no request) until asyncio.run() starts a loop, runs it, and closes it again.
# (main() keeps the data in a global and returns None, so that what sidebyside reads as the
# probe's result is the evidence printed at the end, not the value asyncio.run() returned.)
import asyncio
import json

import aiohttp

body_ran = 0
loop_seen = None
data = None


async def fetch_data():
    global body_ran, loop_seen
    body_ran += 1
    loop_seen = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        async with session.get("https://api.example.com/data") as response:
            return await response.json()


try:
    asyncio.get_running_loop()
    top_level_loop_error = None
except RuntimeError as error:
    top_level_loop_error = str(error)

coroutine = fetch_data()
ran_without_asyncio_run = body_ran
coroutine.close()


async def main():
    global data
    data = await fetch_data()


asyncio.run(main())

print(
    json.dumps(
        {
            "top_level_loop_error": top_level_loop_error,
            "call_returns": type(coroutine).__name__,
            "body_ran_without_asyncio_run": ran_without_asyncio_run,
            "body_ran_with_asyncio_run": body_ran,
            "data_id": data["id"],
            "loop_closed_after_asyncio_run": loop_seen.is_closed(),
        }
    )
)
