"""The pipeline: the order middleware run in, what they see, and what they may do."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

import pytest
from pydantic import BaseModel

from beehive import (
    ActorDescriptor,
    ActorHost,
    DeadLetter,
    Event,
    Inbox,
    Message,
    Middleware,
    Outcome,
    Retry,
)
from beehive.journal import Journal
from beehive.middleware import Handle, Idempotency, Journaling, Process, Publish, Statistics
from beehive.queues import InMemoryQueueOperator
from beehive.testing import FAST_BACKOFF, ActorHarness, CrashInjection, FaultyQueueOperator
from tests.reliability.support import until


class Job(BaseModel):
    n: int


class Echo:
    """Publishes one ``Done`` per job; job 0 fails until its third delivery."""

    async def process(self, event: Event) -> list[Event]:
        if event.body_as(Job).n == 0 and event.delivery_count < 3:
            raise ConnectionError("gateway down")
        return [Event(event_type="Done", body=event.body)]


def echo(**options: object) -> ActorDescriptor:
    return ActorDescriptor(Echo, "Job-Echo", emits=("Done",), **options)  # type: ignore[arg-type]


class Recorder(Middleware):
    """Writes every hook it goes through, with its name, to a shared list."""

    def __init__(self, name: str, trail: list[str]) -> None:
        self.name, self.trail = name, trail

    def received(self, message: Message) -> None:
        self.trail.append(f"{self.name} received")

    async def handle(self, message: Message, call_next: Handle) -> Outcome:
        self.trail.append(f"{self.name} handle in")
        outcome = await call_next(message)
        self.trail.append(f"{self.name} handle out: {outcome}")
        return outcome

    async def process(self, message: Message, call_next: Process) -> list[Event]:
        self.trail.append(f"{self.name} process in")
        events = await call_next(message)
        self.trail.append(f"{self.name} process out: {len(events)}")
        return events

    async def publish(self, message: Message, events: list[Event], call_next: Publish) -> None:
        self.trail.append(f"{self.name} publish in")
        await call_next(message, events)
        self.trail.append(f"{self.name} publish out")

    def settled(self, message: Message, outcome: Outcome) -> None:
        self.trail.append(f"{self.name} settled: {outcome}")


async def test_middleware_run_in_the_order_given_the_first_outermost() -> None:
    trail: list[str] = []
    operator = InMemoryQueueOperator()
    middleware = [Recorder("outer", trail), Recorder("inner", trail)]
    async with ActorHost(operator, [echo()], middleware=middleware):
        await operator.push(Event(Job(n=1)))
        await operator.wait_idle()

    assert trail == [
        "outer received",
        "inner received",
        "outer handle in",
        "inner handle in",
        "outer process in",
        "inner process in",
        "inner process out: 1",
        "outer process out: 1",
        "outer publish in",
        "inner publish in",
        "inner publish out",
        "outer publish out",
        "inner handle out: succeeded",
        "outer handle out: succeeded",
        "inner settled: succeeded",
        "outer settled: succeeded",
    ]


async def test_the_shorthands_take_their_places_around_the_users_middleware() -> None:
    inbox = Inbox.in_memory()
    mine = Recorder("mine", [])
    host = ActorHost(InMemoryQueueOperator(), [echo()], middleware=[mine], inbox=inbox)

    statistics, user, idempotency = host.middleware
    assert isinstance(statistics, Statistics)  # outermost: it times the whole handling
    assert user is mine
    assert isinstance(idempotency, Idempotency)  # innermost, around the actor
    assert host.inbox is inbox
    assert host.journal is None


async def test_tracing_and_the_journal_come_right_after_the_statistics() -> None:
    tracing, mine, journal = Recorder("tracing", []), Recorder("mine", []), Journal.in_memory()
    host = ActorHost(
        InMemoryQueueOperator(), [echo()], middleware=[mine], tracing=tracing, journal=journal
    )

    statistics, traced, journaling, user = host.middleware
    assert isinstance(statistics, Statistics)
    assert traced is tracing
    assert isinstance(journaling, Journaling)
    assert journaling.journal is journal
    assert host.journal is journal
    assert user is mine
    assert host.inbox is None


async def test_publish_runs_with_the_events_out_and_the_message_not_yet_completed() -> None:
    operator = InMemoryQueueOperator()
    seen: list[tuple[int, int]] = []

    class Checks(Middleware):
        async def publish(self, message: Message, events: list[Event], call_next: Publish) -> None:
            await call_next(message, events)
            done = await operator.depth("Done-Count")
            source = await operator.depth("Job-Echo")
            seen.append((done.active, source.leased))

    await operator.setup_queue("Done-Count")  # a subscription that nobody reads
    async with ActorHost(operator, [echo()], middleware=[Checks()]):
        await operator.push(Event(Job(n=1)))
        await until(lambda: bool(seen), timeout=10, what="a publish")

    assert seen == [(1, 1)]  # the event is out; the job is still leased


class Outcomes(Middleware):
    """What a user's middleware sees: the outcome of each message, twice over."""

    def __init__(self) -> None:
        self.returned: Counter[Outcome] = Counter()
        self.settled_with: Counter[Outcome] = Counter()

    async def handle(self, message: Message, call_next: Handle) -> Outcome:
        outcome = await call_next(message)
        self.returned[outcome] += 1
        return outcome

    def settled(self, message: Message, outcome: Outcome) -> None:
        self.settled_with[outcome] += 1


async def test_a_users_middleware_sees_retries_successes_and_dead_letters() -> None:
    outcomes = Outcomes()
    dead_on_arrival = Event(event_type="Job", body='{"n": "seven"}')
    async with ActorHarness([echo()], raise_errors=False, middleware=[outcomes]) as hive:
        await hive.publish(Event(Job(n=0)), Event(Job(n=1)), dead_on_arrival)
        await hive.wait_idle()

    expected = {Outcome.RETRIED: 2, Outcome.SUCCEEDED: 2, Outcome.DEAD_LETTERED: 1}
    assert outcomes.returned == outcomes.settled_with == expected


async def test_a_users_middleware_sees_duplicates_lost_leases_and_failed_settles() -> None:
    outcomes = Outcomes()
    crashes = CrashInjection()
    faults = FaultyQueueOperator(InMemoryQueueOperator())
    first, again = Event(Job(n=1)), Event(Job(n=2))
    copy = first.model_copy()
    crashes.crash_at("after_lease", where=lambda event: event.id == again.id)
    host = ActorHost(
        faults,
        [echo(idempotent=True)],
        middleware=[outcomes, crashes],
        inbox=Inbox.in_memory(),
        backoff=FAST_BACKOFF,
    )
    async with host:
        await faults.push(first)
        await faults.wait_idle()
        await faults.push(copy)  # the same event id: the inbox knows it
        await faults.push(again)  # crashes once after its lease, then succeeds
        await faults.wait_idle()
        faults.fail_next("complete")  # the broker takes it back; it comes again
        await faults.push(Event(Job(n=3)))
        await faults.wait_idle()

    assert outcomes.returned == outcomes.settled_with
    assert outcomes.returned == {
        Outcome.SUCCEEDED: 2,
        Outcome.DUPLICATE: 2,  # the copy, and job 3's redelivery after the failed complete
        Outcome.LEASE_LOST: 1,
        Outcome.SETTLE_FAILED: 1,
    }


async def test_a_stop_that_gives_a_message_back_ends_it_abandoned() -> None:
    outcomes = Outcomes()
    started = asyncio.Event()

    class Stuck:
        async def process(self, event: Event) -> list[Event]:
            started.set()
            await asyncio.Event().wait()
            return []

    operator = InMemoryQueueOperator()
    host = ActorHost(operator, [ActorDescriptor(Stuck, "Job-Stuck")], middleware=[outcomes])
    await host.start()
    await operator.push(Event(Job(n=1)))
    await asyncio.wait_for(started.wait(), timeout=10)

    await host.stop(grace=0)

    assert outcomes.returned == outcomes.settled_with == {Outcome.ABANDONED: 1}
    assert (await operator.depth("Job-Stuck")).active == 1  # given back, not lost


class KnownTenants(Middleware):
    """Rejects events from tenants it does not know, before the actor runs."""

    def __init__(self, *tenants: str) -> None:
        self.tenants = set(tenants)

    async def process(self, message: Message, call_next: Process) -> list[Event]:
        tenant = message.event.properties.get("tenant")
        if tenant not in self.tenants:
            raise DeadLetter(f"unknown tenant {tenant!r}")
        return await call_next(message)


async def test_a_middleware_that_rejects_dead_letters_with_its_reason() -> None:
    async with ActorHarness([echo()], middleware=[KnownTenants("acme")]) as hive:
        await hive.publish(
            Event(Job(n=1), properties={"tenant": "acme"}),
            Event(Job(n=2), properties={"tenant": "initech"}),
        )
        await hive.wait_idle()

    assert [e.body_as(Job).n for e in hive.published("Done")] == [1]
    (dead,) = hive.dead_letters("Job-Echo")
    assert dead.body_as(Job).n == 2
    assert dead.delivery_count == 1  # rejected at once, not retried
    assert "unknown tenant 'initech'" in str(dead.properties["dead_letter_reason"])
    assert hive.host.stats()["Echo@Job-Echo"].dead_lettered == 1


async def test_a_middleware_that_asks_for_a_retry_gets_one() -> None:
    class NotYet(Middleware):
        async def process(self, message: Message, call_next: Process) -> list[Event]:
            if message.event.delivery_count == 1:
                raise Retry(delay=timedelta(milliseconds=1))
            return await call_next(message)

    async with ActorHarness([echo()], middleware=[NotYet()]) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    assert len(hive.published("Done")) == 1
    stats = hive.host.stats()["Echo@Job-Echo"]
    assert (stats.retried, stats.succeeded) == (1, 1)


async def test_a_middleware_times_the_actor_per_actor() -> None:
    class Timing(Middleware):
        def __init__(self) -> None:
            self.seconds: dict[str, list[float]] = {}

        async def process(self, message: Message, call_next: Process) -> list[Event]:
            started = time.perf_counter()
            try:
                return await call_next(message)
            finally:
                took = time.perf_counter() - started
                self.seconds.setdefault(message.actor, []).append(took)

    class Slowish:
        async def process(self, event: Event) -> list[Event]:
            await asyncio.sleep(0.01)
            return []

    timing = Timing()
    descriptors = [echo(), ActorDescriptor(Slowish, "Done-Slowish")]
    async with ActorHarness(descriptors, middleware=[timing], raise_errors=False) as hive:
        await hive.publish(Event(Job(n=0)), Event(Job(n=1)))
        await hive.wait_idle()

    assert sorted(timing.seconds) == ["Echo@Job-Echo", "Slowish@Done-Slowish"]
    assert len(timing.seconds["Echo@Job-Echo"]) == 4  # two jobs, job 0 three times
    assert len(timing.seconds["Slowish@Done-Slowish"]) == 2
    assert all(took >= 0.01 for took in timing.seconds["Slowish@Done-Slowish"])


async def test_an_exception_from_a_middleware_fails_the_message_like_the_actors() -> None:
    class Broken(Middleware):
        async def handle(self, message: Message, call_next: Handle) -> Outcome:
            if message.event.delivery_count == 1:
                raise RuntimeError("middleware bug")
            return await call_next(message)

    async with ActorHarness([echo()], middleware=[Broken()], raise_errors=False) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    stats = hive.host.stats()["Echo@Job-Echo"]
    assert (stats.received, stats.retried, stats.succeeded) == (2, 1, 1)
    assert len(hive.published("Done")) == 1
    assert [type(error) for error in hive.errors] == [RuntimeError]


async def test_a_middleware_may_apply_to_some_actors_only() -> None:
    trail: list[str] = []

    class OnlyEcho(Recorder):
        def applies_to(self, descriptor: ActorDescriptor) -> bool:
            return descriptor.source == "Job-Echo"

    class Count:
        async def process(self, event: Event) -> list[Event]:
            return []

    descriptors = [echo(), ActorDescriptor(Count, "Done-Count")]
    async with ActorHarness(descriptors, middleware=[OnlyEcho("echo", trail)]) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    assert trail.count("echo received") == 1


async def test_middleware_start_in_order_and_stop_in_reverse_around_the_host() -> None:
    trail: list[str] = []

    class Lifecycle(Middleware):
        def __init__(self, name: str) -> None:
            self.name = name

        async def start(self, host: ActorHost) -> None:
            trail.append(f"start {self.name}: running={host.running}")

        async def stop(self) -> None:
            trail.append(f"stop {self.name}")

    host = ActorHost(InMemoryQueueOperator(), [echo()], middleware=[Lifecycle("a"), Lifecycle("b")])
    async with host:
        trail.append("running")

    assert trail == [
        "start a: running=False",
        "start b: running=False",
        "running",
        "stop b",
        "stop a",
    ]


def test_a_middleware_that_overrides_no_hook_is_refused_at_once() -> None:
    with pytest.raises(TypeError, match="Misspelt overrides none of the middleware hooks"):

        class Misspelt(Middleware):
            async def proces(self, message: Message, call_next: Process) -> list[Event]:
                return await call_next(message)


def test_the_host_refuses_what_is_not_a_middleware() -> None:
    with pytest.raises(TypeError, match=r"must be beehive\.middleware\.Middleware instances"):
        ActorHost(InMemoryQueueOperator(), [echo()], middleware=[object()])  # type: ignore[list-item]


def test_outcomes_are_an_enum_whose_values_logs_and_the_journal_show() -> None:
    assert {outcome.value for outcome in Outcome} == {
        "succeeded",
        "duplicate",
        "retried",
        "dead-lettered",
        "lease lost",
        "settle failed",
        "abandoned",
    }
    assert Outcome("dead-lettered") is Outcome.DEAD_LETTERED
    assert f"{Outcome.LEASE_LOST}" == "lease lost"
