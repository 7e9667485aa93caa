"""Pulsers: growing intervals, resets when the pulse finds work, one pulse across hosts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from beehive import ActorHost, Event, actor, discover
from beehive._clock import utcnow
from beehive.errors import ActorConfigurationError
from beehive.queues import InMemoryQueueOperator
from beehive.stores.memory import InMemoryKeyValueStore
from beehive.testing import VirtualClock

START = datetime(2030, 1, 1, tzinfo=UTC)

pulses: list[tuple[str, float]] = []
"""(host, minutes since START) of every pulse an actor handled."""
work_at: set[float] = set()
"""The minutes at which a poll finds work."""


def minutes() -> float:
    return round((utcnow() - START).total_seconds() / 60, 6)


def make_poller(host: str) -> type:
    @actor("Poll-Inbox", emits=["Found"])
    class Poller:
        async def process(self, event: Event) -> list[Event]:
            now = minutes()
            pulses.append((host, now))
            if now in work_at:
                return [Event(event_type="Found", body="{}")]
            return []

    Poller.__qualname__ = f"Poller{host}"
    return Poller


@pytest.fixture(autouse=True)
def _clean() -> None:
    pulses.clear()
    work_at.clear()


@asynccontextmanager
async def hosts(count: int, *, shared: bool, **growth: Any) -> AsyncIterator[VirtualClock]:
    """``count`` hosts on one in-memory broker, on simulated time from START, pulsing Poll."""
    operator = InMemoryQueueOperator()
    store = InMemoryKeyValueStore() if shared else None
    async with VirtualClock(START) as clock, AsyncExitStack() as stack:
        for n in range(count):
            host = ActorHost(operator, discover(make_poller(f"h{n}")))
            host.pulse("Poll", every=timedelta(minutes=1), store=store, **growth)
            await stack.enter_async_context(host)
        yield clock


async def test_without_growth_a_pulse_goes_out_every_interval() -> None:
    async with hosts(1, shared=False) as clock:
        await clock.advance(minutes=5)

    assert [at for _, at in pulses] == [1, 2, 3, 4, 5]


async def test_the_interval_grows_while_nothing_is_found_up_to_the_limit() -> None:
    async with hosts(1, shared=False, up_to=timedelta(minutes=8), factor=2) as clock:
        await clock.advance(minutes=40)

    # intervals 1, 2, 4, 8, 8, 8...
    assert [at for _, at in pulses] == [1, 3, 7, 15, 23, 31, 39]


async def test_the_interval_resets_when_the_pulse_finds_work() -> None:
    work_at.update({7, 8})
    async with hosts(1, shared=False, up_to=timedelta(minutes=8)) as clock:
        await clock.advance(minutes=30)

    # 1, 3, 7 (work: back to 1 minute), 8 (work again), 9, then growing again: 11, 15, 23
    assert [at for _, at in pulses] == [1, 3, 7, 8, 9, 11, 15, 23]


async def test_two_hosts_sharing_a_store_send_one_pulse_per_interval() -> None:
    async with hosts(2, shared=True) as clock:
        await clock.advance(minutes=10)

    assert [at for _, at in pulses] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]


async def test_two_hosts_without_a_shared_store_each_pulse() -> None:
    async with hosts(2, shared=False) as clock:
        await clock.advance(minutes=3)

    assert sorted(at for _, at in pulses) == [1, 1, 2, 2, 3, 3]


async def test_a_reset_found_by_one_host_holds_for_both() -> None:
    work_at.update({7})
    async with hosts(2, shared=True, up_to=timedelta(minutes=8)) as clock:
        await clock.advance(minutes=20)

    assert [at for _, at in pulses] == [1, 3, 7, 8, 10, 14]
    assert {host for host, _ in pulses} <= {"h0", "h1"}


async def test_growth_is_checked_and_set_up_before_start() -> None:
    host = ActorHost(InMemoryQueueOperator(), [])
    with pytest.raises(ValueError, match="up_to"):
        host.pulse("Poll", every=60, up_to=30)
    with pytest.raises(ValueError, match="factor"):
        host.pulse("Poll", every=60, up_to=600, factor=1)
    async with host:
        with pytest.raises(ActorConfigurationError, match="before the host starts"):
            host.pulse("Poll", every=60, up_to=600)
