# Claim: an exception raised in a coroutine, a failed task and a future holding an exception (the
# counterpart of a rejected promise) all reach try/except around an `await`. Without the await
# nothing is raised: the coroutine has not even started.
import asyncio
import json


async def fails():
    raise ValueError("raised inside a coroutine")


async def main():
    evidence = {}
    try:
        await fails()
    except ValueError as error:
        evidence["caught_coroutine_exception"] = str(error)

    future = asyncio.get_running_loop().create_future()
    future.set_exception(ValueError("future holding an exception"))
    try:
        await future
    except ValueError as error:
        evidence["caught_failed_future"] = str(error)

    try:
        await asyncio.create_task(fails())
    except ValueError as error:
        evidence["caught_failed_task"] = str(error)

    evidence["caught_without_await"] = None
    try:
        coroutine = fails()
        evidence["failing_call_without_await_returns"] = type(coroutine).__name__
        coroutine.close()
    except ValueError as error:
        evidence["caught_without_await"] = str(error)
    print(json.dumps(evidence))


asyncio.run(main())
