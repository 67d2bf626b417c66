# Claim: asyncio.run() cannot be nested. Called from a coroutine that asyncio.run() is running,
# it raises RuntimeError before running its argument. The probe records what it raised, then
# lets the error propagate: the outer asyncio.run() fails with it and Python exits 1.
import asyncio
import json

inner_ran = False


async def inner():
    global inner_ran
    inner_ran = True


async def main():
    coroutine = inner()
    try:
        asyncio.run(coroutine)
    except RuntimeError as error:
        coroutine.close()
        print(
            json.dumps(
                {
                    "raised": type(error).__name__,
                    "message": str(error),
                    "inner_ran": inner_ran,
                }
            )
        )
        raise


asyncio.run(main())
