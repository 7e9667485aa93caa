"""Exclusive claims on (actor, event id), on every lock store backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from beehive.claims import Claims
from beehive.errors import ClaimHeldError, Retry
from beehive.stores import LockStore
from tests.stores.conftest import Backend

GUARD = 10  # real seconds after which a waiter that should have been served counts as stuck


@pytest.fixture
async def locks(backend: Backend) -> AsyncIterator[LockStore]:
    async with backend.lock(backend.clock()) as store:
        yield store


async def test_a_held_claim_sends_another_copy_back_to_be_retried(locks: LockStore) -> None:
    claims = Claims(locks, wait=0, retry_after=2)

    async with claims.hold("Pay@Order-Pay", "e-1"):
        with pytest.raises(ClaimHeldError, match="e-1") as held:
            async with claims.hold("Pay@Order-Pay", "e-1"):
                pytest.fail("two copies held one claim")
        async with claims.hold("Pay@Order-Pay", "e-2"):  # another event: independent
            pass
        async with claims.hold("Ship@Order-Ship", "e-1"):  # another actor: independent
            pass

    assert isinstance(held.value, Retry)
    assert held.value.delay == 2
    async with claims.hold("Pay@Order-Pay", "e-1"):  # released on leaving the block
        pass


async def test_a_waiting_copy_gets_the_claim_when_the_first_is_done(locks: LockStore) -> None:
    claims = Claims(locks, wait=GUARD)
    order: list[str] = []
    first_holds = asyncio.Event()

    async def first() -> None:
        async with claims.hold("Pay@Order-Pay", "e-1"):
            first_holds.set()
            order.append("first in")
            await asyncio.sleep(0.05)
            order.append("first out")

    async def second() -> None:
        await first_holds.wait()
        async with claims.hold("Pay@Order-Pay", "e-1"):
            order.append("second in")

    await asyncio.wait_for(asyncio.gather(first(), second()), GUARD)

    assert order == ["first in", "first out", "second in"]


async def test_a_failing_block_releases_its_claim(locks: LockStore) -> None:
    claims = Claims(locks, wait=0)

    with pytest.raises(RuntimeError):
        async with claims.hold("Pay@Order-Pay", "e-1"):
            raise RuntimeError("the actor failed")

    async with claims.hold("Pay@Order-Pay", "e-1"):
        pass


def test_any_actor_and_event_id_make_a_distinct_legal_resource() -> None:
    long = Claims.resource("A" * 200, "x" * 300)
    surrogate = Claims.resource("A@X-Y", "\ud800")

    assert len(long) <= 255
    assert long != Claims.resource("A" * 200, "x" * 301)
    assert surrogate.startswith("claim|A@X-Y|sha256:")
    assert Claims.resource("A@X-Y", "e-1") == "claim|A@X-Y|e-1"


def test_claims_check_their_settings() -> None:
    with pytest.raises(ValueError, match="lease"):
        Claims.in_memory(lease=0)
    with pytest.raises(ValueError, match="wait"):
        Claims.in_memory(wait=-1)
