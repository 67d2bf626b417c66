# Claim: in Python you cannot await just anything. Awaiting a number, a string, a dict or a plain
# function's result raises TypeError; a coroutine, a task and an object with __await__ are fine.
import asyncio
import json


def plain_function():
    return 7


async def coroutine_function():
    return 7


class Awaitable:
    def __await__(self):
        return (yield from asyncio.sleep(0, result=7).__await__())


async def main():
    evidence = {}
    for name, make in [
        ("await_int", lambda: 42),
        ("await_str", lambda: "text"),
        ("await_dict", lambda: {"a": 1}),
        ("await_plain_function_result", plain_function),
    ]:
        try:
            evidence[name] = await make()
        except TypeError as error:
            evidence[name + "_raised"] = type(error).__name__
            evidence[name + "_message"] = str(error)
    evidence["await_coroutine"] = await coroutine_function()
    evidence["await_task"] = await asyncio.create_task(coroutine_function())
    evidence["await_dunder_await_object"] = await Awaitable()
    print(json.dumps(evidence))


asyncio.run(main())
