"""The virtual clock: retries, schedules, leases, locks and pulsers in simulated time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import BaseModel

from beehive import ActorDescriptor, Event, Retry, actor, discover
from beehive._clock import current, utcnow
from beehive.stores.memory import InMemoryLockStore
from beehive.testing import ActorHarness, VirtualClock, VirtualClockError

START = datetime(2030, 1, 1, tzinfo=UTC)


class Job(BaseModel):
    n: int


seen: list[tuple[int, datetime]] = []


@actor("Job-Retrying")
class RetryEveryMinute:
    async def process(self, event: Event) -> list[Event]:
        seen.append((event.delivery_count, utcnow()))
        if event.delivery_count < 3:
            raise Retry("supplier not ready", delay=60)
        return []


async def test_a_retry_chain_of_minutes_runs_at_once_at_the_right_simulated_times() -> None:
    seen.clear()
    async with ActorHarness(discover(RetryEveryMinute), clock=VirtualClock(START)) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    assert seen == [
        (1, START),
        (2, START + timedelta(seconds=60)),
        (3, START + timedelta(seconds=120)),
    ]
    assert hive.clock is not None
    assert hive.clock.elapsed == timedelta(seconds=120)


@actor("Job-Record")
class Record:
    received: list[datetime] = []

    async def process(self, event: Event) -> list[Event]:
        Record.received.append(utcnow())
        return []


async def test_a_scheduled_event_arrives_when_its_enqueue_time_comes() -> None:
    Record.received = []
    async with ActorHarness(discover(Record), clock=VirtualClock(START)) as hive:
        await hive.publish(Event(Job(n=1), enqueue_time=START + timedelta(minutes=5)))
        await hive.advance(minutes=4, seconds=59)
        assert Record.received == []
        await hive.advance(seconds=1)
        assert Record.received == [START + timedelta(minutes=5)]


async def test_events_and_clocks_read_the_simulated_time() -> None:
    async with VirtualClock(START) as clock:
        assert Event(event_type="Ping").timestamp == START
        await asyncio.sleep(3600)
        assert Event(event_type="Ping").timestamp == START + timedelta(hours=1)
        assert clock.utcnow() == START + timedelta(hours=1)
        assert current() is clock
    assert current() is None
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=5)


async def test_after_uninstalling_the_loop_time_goes_on_from_the_simulation() -> None:
    loop = asyncio.get_running_loop()
    async with VirtualClock() as clock:
        await clock.advance(hours=2)
        reached = loop.time()
    assert loop.time() >= reached
    await asyncio.sleep(0.01)  # timers still work, at the real pace


class Slow:
    deliveries: list[int] = []
    seconds = 45.0

    async def process(self, event: Event) -> list[Event]:
        Slow.deliveries.append(event.delivery_count)
        if event.delivery_count == 1:
            await asyncio.sleep(Slow.seconds)
        return []


async def test_a_lease_expires_in_simulated_time_and_the_message_comes_back() -> None:
    Slow.deliveries, Slow.seconds = [], 45.0
    descriptor = ActorDescriptor(
        Slow, "Job-Slow", parallelism=2, lease_seconds=30, max_lease_seconds=30
    )
    async with ActorHarness([descriptor], clock=VirtualClock()) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()  # the redelivery, at 30 s, completed the message
        assert Slow.deliveries == [1, 2]
        await hive.advance(seconds=15)  # the first attempt ends, and finds its lease gone
        stats = hive.host.stats()["Slow@Job-Slow"]

    assert (stats.succeeded, stats.lease_lost) == (1, 1)


async def test_leases_are_renewed_in_simulated_time_while_an_actor_works() -> None:
    Slow.deliveries, Slow.seconds = [], 600.0
    descriptor = ActorDescriptor(Slow, "Job-Slow", lease_seconds=30)
    async with ActorHarness([descriptor], clock=VirtualClock()) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()
        assert hive.clock is not None
        assert hive.clock.elapsed == timedelta(seconds=600)

    assert Slow.deliveries == [1]


async def test_a_pulser_ticks_on_simulated_time() -> None:
    Record.received = []
    async with ActorHarness(discover(Record), clock=VirtualClock(START)) as hive:
        hive.host.pulse("Job", every=timedelta(minutes=1))
        await hive.advance(minutes=5)

    assert Record.received == [START + timedelta(minutes=m) for m in range(1, 6)]


async def test_locks_expire_and_waiters_wake_in_simulated_time() -> None:
    async with VirtualClock() as clock:
        locks = InMemoryLockStore()
        await locks.acquire("order-1", ttl=30)
        await locks.acquire("order-1", ttl=30, wait=timedelta(minutes=1))
        assert 30 <= clock.elapsed.total_seconds() <= 31


async def test_waiting_for_idle_gives_up_after_simulated_time() -> None:
    @actor("Job-Never")
    class Never:
        async def process(self, event: Event) -> list[Event]:
            raise Retry("not yet", delay=timedelta(minutes=10))

    clock = VirtualClock()
    async with ActorHarness(discover(Never), clock=clock, raise_errors=False) as hive:
        await hive.publish(Event(Job(n=1)))
        with pytest.raises(TimeoutError, match="not idle after 1800s"):
            await hive.wait_idle(timedelta(minutes=30))
        assert clock.elapsed == timedelta(minutes=30)


async def test_advancing_needs_the_clock_installed_and_time_to_go_forward() -> None:
    clock = VirtualClock()
    with pytest.raises(VirtualClockError, match="not installed"):
        await clock.advance(seconds=1)
    async with clock:
        with pytest.raises(ValueError, match="cannot go back"):
            await clock.advance(seconds=-1)
        with pytest.raises(VirtualClockError, match="installed already"):
            clock.install()
        with pytest.raises(VirtualClockError, match="another virtual clock"):
            VirtualClock().install()
    async with ActorHarness(discover(Record)) as hive:
        with pytest.raises(TypeError, match="clock=VirtualClock"):
            await hive.advance(seconds=1)


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(datetime(2030, 1, 1))
