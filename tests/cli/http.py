"""A tiny HTTP/1.1 GET for tests, on asyncio streams."""

from __future__ import annotations

import asyncio


async def get(
    port: int, path: str, method: str = "GET", raw: bytes | None = None
) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw or f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        await writer.drain()
        if raw is not None:
            writer.write_eof()  # a raw request is all there is: say so at once
        response = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body.decode()
