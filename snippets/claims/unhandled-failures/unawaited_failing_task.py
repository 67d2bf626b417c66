# Claim: an un-awaited failing asyncio task only logs "Task exception was never retrieved". The
# task raises while main() goes on; main() finishes, asyncio.run() returns normally, and the
# process exits 0. The error appears on stderr only, when the task is garbage-collected.
import asyncio
import json


async def failing():
    raise ValueError("nobody awaits this task")


async def main():
    asyncio.create_task(failing())
    await asyncio.sleep(0.05)
    print(json.dumps({"task_failed_before_main_finished": True, "main_finished": True}))


asyncio.run(main())
