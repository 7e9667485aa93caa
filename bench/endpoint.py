"""What the HTTP endpoint costs: probes, a scrape, and sends, through uvicorn on a real port.

Runs the Prismo actors on the memory backend behind ``beehive.web.endpoint`` (the app
``beehive run`` serves) on 127.0.0.1, port 0, and measures over one keep-alive connection:
``/healthz`` requests per second, the time and size of one ``/metrics`` scrape (text and
OpenMetrics), and ``POST /api/send`` requests per second. The same requests made in process
through httpx's ASGI transport give the baseline: the ratio is what the server and the
loopback add. Bounded: a fixed number of requests, to this machine only.

    .venv/bin/python bench/endpoint.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx

from beehive import ActorHost, discover
from beehive.queues import InMemoryQueueOperator
from beehive.web import Server, endpoint

TOKEN = "bench-token"
ORDER = {"event_type": "Unread", "body": {"n": 1}}


async def rate(requests: int, call: Callable[[], Awaitable[httpx.Response]]) -> float:
    """Requests per second of ``requests`` sequential calls (each must answer 2xx)."""
    started = time.perf_counter()
    for _ in range(requests):
        (await call()).raise_for_status()
    return requests / (time.perf_counter() - started)


async def scrape(client: httpx.AsyncClient, accept: str) -> tuple[float, int]:
    """Median milliseconds of ten scrapes, and the size of one, in bytes."""
    times, size = [], 0
    for _ in range(10):
        started = time.perf_counter()
        response = await client.get("/metrics", headers={"Accept": accept})
        times.append((time.perf_counter() - started) * 1000)
        size = len(response.content)
    return statistics.median(times), size


async def measure(client: httpx.AsyncClient, requests: int) -> dict[str, float]:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    found = {
        "healthz/s": await rate(requests, lambda: client.get("/healthz")),
        "send/s": await rate(
            requests // 4, lambda: client.post("/api/send", json=ORDER, headers=auth)
        ),
    }
    found["metrics ms"], found["metrics bytes"] = await scrape(client, "text/plain")
    found["openmetrics ms"], _ = await scrape(client, "application/openmetrics-text")
    return found


async def main(requests: int) -> None:
    operator = InMemoryQueueOperator()
    host = ActorHost(operator, discover("samples.prismo.actors"), container=_container())
    app = endpoint(host, token=TOKEN)
    async with operator, host:
        await operator.setup_queue("Unread-Bench")  # sent events have somewhere to go
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            in_process = await measure(client, requests)
        async with Server(app, "127.0.0.1", 0) as server:
            url = f"http://127.0.0.1:{server.port}"
            async with httpx.AsyncClient(base_url=url) as client:
                served = await measure(client, requests)
    print(f"{len(host.descriptors)} actors, {requests} probes, {requests // 4} sends")
    print(f"{'':16}{'in process':>12}{'uvicorn':>12}{'ratio':>8}")
    for name, value in served.items():
        base = in_process[name]
        print(f"{name:16}{base:12.1f}{value:12.1f}{value / base:8.2f}")


def _container() -> object:
    from samples.prismo.container import build_container
    from samples.prismo.scenario import Scenario
    from samples.prismo.stores import Stores

    return build_container(Scenario(), Stores.in_memory())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    asyncio.run(main(parser.parse_args().requests))
