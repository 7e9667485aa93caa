"""A tiny HTTP GET for tests of a host listening on a real port."""

from __future__ import annotations

import httpx


async def get(port: int, path: str, method: str = "GET") -> tuple[int, str]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        response = await client.request(method, path)
    return response.status_code, response.text
