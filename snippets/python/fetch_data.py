# Python (sync by default, opt-in async)
import asyncio
import aiohttp

async def fetch_data():
    async with aiohttp.ClientSession() as session:
        async with session.get('https://api.example.com/data') as response:
            data = await response.json()
            return data

# Must explicitly run the event loop
asyncio.run(fetch_data())
