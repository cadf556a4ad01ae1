"""A WebSocket echo server on Python's websockets. Usage: python_echo.py PORT"""

import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    async for message in ws:
        await ws.send(message)


async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), compression=None, max_size=None):
        print(f"listening on 127.0.0.1:{sys.argv[1]}", flush=True)
        await asyncio.Future()


asyncio.run(main())
