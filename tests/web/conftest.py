from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from beehive import ActorHost, discover
from beehive.backoff import Backoff
from beehive.queues.memory import InMemoryQueueOperator
from beehive.web import endpoint

TOKEN = "web-test-token-51c2"


@dataclass
class Hosted:
    operator: InMemoryQueueOperator
    host: ActorHost
    client: httpx.AsyncClient


def client_of(app: object) -> httpx.AsyncClient:
    """A client that calls ``app`` in process, through httpx's ASGI transport."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://beehive")  # type: ignore[arg-type]


@pytest.fixture
async def hosted() -> AsyncIterator[Hosted]:
    """The shop's actors running in memory, behind the endpoint (send token ``TOKEN``)."""
    operator = InMemoryQueueOperator()
    host = ActorHost(
        operator, discover("tests.dashboard.shop"), poll_wait=0.1, backoff=Backoff(0.01, 2, 0.05)
    )
    async with operator, host, client_of(endpoint(host, token=TOKEN)) as client:
        yield Hosted(operator, host, client)
