"""The actor host: what it does with each message, end to end on the in-memory broker."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from dependency_injector import containers, providers
from pydantic import BaseModel

from beehive import (
    ActorConfigurationError,
    ActorDescriptor,
    ActorHost,
    Backoff,
    DeadLetter,
    Event,
    Inbox,
    LeaseLostError,
    QueueName,
    Retry,
    actor,
    discover,
)
from beehive._clock import monotonic
from beehive.inbox import InboxRecord
from beehive.middleware import Handle, Message, Middleware, Outcome, Publish
from beehive.queues import DeadLetterInfo, InMemoryQueueOperator
from beehive.stores import InMemoryCollectionStore
from beehive.testing import ActorHarness, FaultyQueueOperator, VirtualClock
from tests.example_app.models import OrderAccepted, OrderShipped, PaymentAuthorised
from tests.example_app.services import Container
from tests.reliability.support import FAST, until


class Job(BaseModel):
    n: int


def descriptor(actor_type: type, source: str = "Job-Work", **options: object) -> ActorDescriptor:
    return ActorDescriptor(actor_type, source, **options)  # type: ignore[arg-type]


async def test_a_chain_of_actors_with_dependencies_injected() -> None:
    container = Container()
    async with ActorHarness(discover("tests.example_app.actors"), container=container) as hive:
        await hive.publish(
            Event(OrderAccepted(order_id="o-1")), Event(OrderAccepted(order_id="o-2"))
        )
        await hive.wait_idle()

    assert sorted(container.payment_gateway().authorised) == ["o-1", "o-2"]  # by name
    assert sorted(container.shipper().shipped) == ["o-1", "o-2"]  # by Provide[...]
    shipped = hive.published_bodies(OrderShipped)
    assert sorted(s.order_id for s in shipped) == ["o-1", "o-2"]


async def test_outgoing_events_carry_correlation_and_causation() -> None:
    async with ActorHarness(discover("tests.example_app.actors"), container=Container()) as hive:
        accepted = Event(OrderAccepted(order_id="o-1"))
        await hive.publish(accepted)
        await hive.wait_idle()

    (authorised,) = hive.published(PaymentAuthorised)
    (shipped,) = hive.published(OrderShipped)
    assert authorised.causation_id == accepted.id
    assert authorised.correlation_id == accepted.id
    assert shipped.causation_id == authorised.id
    assert shipped.correlation_id == accepted.id


async def test_topics_fan_out_to_every_subscription() -> None:
    async with ActorHarness(discover("tests.example_app.actors"), container=Container()) as hive:
        await hive.publish(Event(OrderAccepted(order_id="o-1")))
        await hive.wait_idle()

    received = {name: s.received for name, s in hive.host.stats().items()}
    assert received == {
        "PaymentActor@OrderAccepted-Payment": 1,
        "ShippingActor@PaymentAuthorised-Shipping": 1,
        "TracingActor@OrderAccepted-Trace": 1,
        "TracingActor@PaymentAuthorised-Trace": 1,
        "TracingActor@OrderShipped-Trace": 1,
    }


class Flaky:
    failures_left = 0
    attempts: list[int] = []

    async def process(self, event: Event) -> list[Event]:
        Flaky.attempts.append(event.delivery_count)
        if Flaky.failures_left:
            Flaky.failures_left -= 1
            raise ConnectionError("gateway down")
        return []


async def test_failures_are_retried_with_backoff_then_succeed() -> None:
    Flaky.failures_left, Flaky.attempts = 2, []
    async with ActorHarness([descriptor(Flaky)], raise_errors=False) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    assert Flaky.attempts == [1, 2, 3]
    stats = hive.host.stats()["Flaky@Job-Work"]
    assert (stats.retried, stats.succeeded, stats.dead_lettered) == (2, 1, 0)
    assert hive.dead_letters("Job-Work") == []


async def test_backoff_spaces_retries() -> None:
    Flaky.failures_left, Flaky.attempts = 1, []
    operator = InMemoryQueueOperator()
    host = ActorHost(operator, [descriptor(Flaky)], backoff=None, poll_wait=1)
    async with host:
        await operator.push(Event(Job(n=1)))
        await asyncio.sleep(0.3)  # the first retry waits about one second by default
        assert Flaky.attempts == [1]
        await operator.wait_idle(timeout=5)
    assert Flaky.attempts == [1, 2]


class Poison:
    processed: list[int] = []

    async def process(self, event: Event) -> list[Event]:
        job = event.body_as(Job)
        if job.n == 0:
            raise ValueError("cannot divide by zero")
        Poison.processed.append(job.n)
        return []


async def test_poison_message_is_dead_lettered_after_max_deliveries_while_others_flow() -> None:
    Poison.processed = []
    async with ActorHarness(
        [descriptor(Poison, max_deliveries=3, parallelism=2)], raise_errors=False
    ) as hive:
        await hive.publish(*(Event(Job(n=n)) for n in range(20)))
        await hive.wait_idle()

    assert sorted(Poison.processed) == list(range(1, 20))
    (dead,) = hive.dead_letters("Job-Work")
    assert dead.body_as(Job).n == 0
    assert dead.delivery_count == 3
    reason = dead.properties["dead_letter_reason"]
    assert "Poison@Job-Work" in str(reason)
    assert "ValueError" in str(reason)
    assert "cannot divide by zero" in str(reason)


async def test_malformed_body_is_dead_lettered_on_first_delivery() -> None:
    Poison.processed = []
    async with ActorHarness([descriptor(Poison)], raise_errors=False) as hive:
        await hive.publish(Event(event_type="Job", body='{"n": "seven"}'))
        await hive.wait_idle()

    (dead,) = hive.dead_letters("Job-Work")
    assert dead.delivery_count == 1
    assert "BadEventBody" in str(dead.properties["dead_letter_reason"])
    assert "n: Input should be a valid integer" in str(dead.properties["dead_letter_reason"])


class Deliberate:
    async def process(self, event: Event) -> list[Event]:
        if event.body_as(Job).n == 1:
            raise DeadLetter("order 1 is on the block list")
        if event.delivery_count == 1:
            raise Retry(delay=timedelta(milliseconds=1))
        return []


async def test_actors_can_ask_for_dead_letter_or_retry(caplog: pytest.LogCaptureFixture) -> None:
    async with ActorHarness([descriptor(Deliberate)]) as hive:  # neither is an error
        await hive.publish(Event(Job(n=1)), Event(Job(n=2)))
        await hive.wait_idle()

    (dead,) = hive.dead_letters("Job-Work")
    assert "order 1 is on the block list" in str(dead.properties["dead_letter_reason"])
    stats = hive.host.stats()["Deliberate@Job-Work"]
    assert (stats.retried, stats.succeeded, stats.dead_lettered) == (1, 1, 1)
    assert not [
        r for r in caplog.records if r.levelno == logging.WARNING and "retrying" in r.message
    ]


class BadReturn:
    async def process(self, event: Event) -> list[Event]:
        return {"not": "a list"}  # type: ignore[return-value]


async def test_returning_something_else_than_events_fails_with_a_clear_error() -> None:
    async with ActorHarness([descriptor(BadReturn, max_deliveries=1)], raise_errors=False) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    (dead,) = hive.dead_letters("Job-Work")
    assert "must return a list of Event, not dict" in str(dead.properties["dead_letter_reason"])


class Gauge:
    current = 0
    peak = 0
    target = 4
    reached = asyncio.Event()

    async def process(self, event: Event) -> list[Event]:
        Gauge.current += 1
        Gauge.peak = max(Gauge.peak, Gauge.current)
        if Gauge.current == Gauge.target:
            Gauge.reached.set()
        await Gauge.reached.wait()
        for _ in range(3):
            await asyncio.sleep(0)  # give any extra worker the chance to overlap
        Gauge.current -= 1
        return []


async def test_parallelism_is_reached_and_never_exceeded() -> None:
    Gauge.current, Gauge.peak, Gauge.reached = 0, 0, asyncio.Event()
    async with ActorHarness([descriptor(Gauge, parallelism=4)]) as hive:
        await hive.publish(*(Event(Job(n=n)) for n in range(40)))
        await hive.wait_idle()

    assert Gauge.peak == 4


class Convoy:
    seen: dict[str, list[int]] = defaultdict(list)
    current = 0
    peak = 0

    async def process(self, event: Event) -> list[Event]:
        Convoy.current += 1
        Convoy.peak = max(Convoy.peak, Convoy.current)
        for _ in range(random.randint(0, 3)):
            await asyncio.sleep(0)
        assert event.session_id is not None
        Convoy.seen[event.session_id].append(event.body_as(Job).n)
        Convoy.current -= 1
        return []


async def test_sessions_keep_per_session_order_under_parallel_load() -> None:
    Convoy.seen, Convoy.current, Convoy.peak = defaultdict(list), 0, 0
    sessions = [f"order-{i}" for i in range(10)]
    events = [Event(Job(n=n), session_id=s) for n in range(20) for s in sessions]
    random.Random(7).shuffle(events)  # interleave sessions; order within each is kept below
    events.sort(key=lambda e: e.body_as(Job).n)

    async with ActorHarness([descriptor(Convoy, sessions=True, parallelism=8)]) as hive:
        await hive.publish(*events)
        await hive.wait_idle()

    assert dict(Convoy.seen) == {s: list(range(20)) for s in sessions}
    assert Convoy.peak > 1, "different sessions run in parallel"


class Slow:
    calls = 0
    started = asyncio.Event()

    async def process(self, event: Event) -> list[Event]:
        Slow.calls += 1
        Slow.started.set()
        await asyncio.sleep(0.6)
        return []


async def test_a_slow_actor_keeps_its_lease_and_runs_once() -> None:
    Slow.calls = 0
    slow = descriptor(Slow, lease_seconds=0.2, parallelism=2)  # work takes 3x the lease
    async with ActorHarness([slow]) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    assert Slow.calls == 1
    stats = hive.host.stats()["Slow@Job-Work"]
    assert (stats.succeeded, stats.lease_lost) == (1, 0)


class Steady:
    done: Counter[str] = Counter()
    forty = asyncio.Event()

    async def process(self, event: Event) -> list[Event]:
        await asyncio.sleep(0.005)
        Steady.done[event.id] += 1
        if len(Steady.done) >= 40:
            Steady.forty.set()
        if event.event_type == "OrderShipped":
            return []
        return [Event(OrderShipped(order_id=event.id))]


async def test_stop_under_load_loses_nothing() -> None:
    Steady.done, Steady.forty = Counter(), asyncio.Event()
    operator = InMemoryQueueOperator()
    steady = [
        descriptor(Steady, parallelism=4, emits=["OrderShipped"]),
        descriptor(Steady, "OrderShipped-Count"),
    ]
    first = ActorHost(operator, steady)
    await first.start()
    sent = [Event(Job(n=n)) for n in range(200)]
    await operator.push_batch(sent)
    await asyncio.wait_for(Steady.forty.wait(), timeout=10)

    await first.stop(grace=0)  # in-flight work is abandoned, not lost
    assert not operator.is_idle
    async with ActorHost(operator, steady):
        await operator.wait_idle(timeout=20)

    assert all(Steady.done[e.id] >= 1 for e in sent)
    assert len(Steady.done) == 400  # every job and every OrderShipped it caused


async def test_stop_lets_in_flight_messages_finish_within_grace() -> None:
    Slow.calls, Slow.started = 0, asyncio.Event()
    operator = InMemoryQueueOperator()
    host = ActorHost(operator, [descriptor(Slow)])
    await host.start()
    await operator.push(Event(Job(n=1)))
    await asyncio.wait_for(Slow.started.wait(), timeout=10)

    await host.stop(grace=5)

    assert operator.is_idle
    assert host.stats()["Slow@Job-Work"].succeeded == 1


class Closing:
    closed = 0

    async def process(self, event: Event) -> list[Event]:
        if event.body_as(Job).n == 0:
            raise RuntimeError("boom")
        return []

    async def aclose(self) -> None:
        Closing.closed += 1


async def test_aclose_is_called_after_every_message_whatever_happened() -> None:
    Closing.closed = 0
    async with ActorHarness([descriptor(Closing, max_deliveries=1)], raise_errors=False) as hive:
        await hive.publish(Event(Job(n=0)), Event(Job(n=1)))
        await hive.wait_idle()

    assert Closing.closed == 2


async def test_fail_fast_re_raises_an_actors_exception() -> None:
    Closing.closed = 0
    async with ActorHarness([descriptor(Closing)]) as hive:
        await hive.publish(Event(Job(n=0)))
        with pytest.raises(RuntimeError, match="boom"):
            await hive.wait_idle()


class NeedsGateway:
    def __init__(self, gateway: object) -> None:
        self.gateway = gateway

    async def process(self, event: Event) -> list[Event]:
        return []


async def test_an_unresolvable_dependency_fails_at_start_naming_actor_and_parameter() -> None:
    host = ActorHost(InMemoryQueueOperator(), [descriptor(NeedsGateway)], container=Container())

    with pytest.raises(ActorConfigurationError, match=r"NeedsGateway.*'gateway'.*payment_gateway"):
        await host.start()
    assert not host.running


async def test_dependencies_resolve_per_message_from_the_container() -> None:
    class Gateways(containers.DeclarativeContainer):
        gateway = providers.Factory(object)

    seen: list[object] = []

    @actor("Job-Work")
    class UsesGateway:
        def __init__(self, gateway: object) -> None:
            seen.append(gateway)

        async def process(self, event: Event) -> list[Event]:
            return []

    async with ActorHarness(discover(UsesGateway), container=Gateways()) as hive:
        await hive.publish(Event(Job(n=1)), Event(Job(n=2)))
        await hive.wait_idle()

    assert len(seen) == 2
    assert seen[0] is not seen[1], "a fresh actor and fresh factory dependencies per message"


async def test_pulse_publishes_empty_events_on_an_interval() -> None:
    three = asyncio.Event()

    @actor("Tick-Count")
    class TickCounter:
        ticks = 0

        async def process(self, event: Event) -> list[Event]:
            TickCounter.ticks += 1
            if TickCounter.ticks == 3:
                three.set()
            return []

    operator = InMemoryQueueOperator()
    host = ActorHost(operator, discover(TickCounter))
    host.pulse("Tick", every=timedelta(milliseconds=20))
    async with host:
        await asyncio.wait_for(three.wait(), timeout=10)

    assert TickCounter.ticks >= 3


async def test_each_outcome_is_logged_with_structured_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="beehive.host")
    async with ActorHarness([descriptor(Steady, emits=["OrderShipped"])]) as hive:
        job = Event(Job(n=1))
        await hive.publish(job)
        await hive.wait_idle()

    (record,) = [r for r in caplog.records if getattr(r, "event_id", None) == job.id]
    assert record.levelno == logging.DEBUG
    assert record.__dict__["actor"] == "Steady@Job-Work"
    assert record.__dict__["outcome"] == "succeeded"
    assert record.__dict__["delivery_count"] == 1
    assert record.__dict__["duration_ms"] >= 0


# -- fairness in memory ---------------------------------------------------------------------------


async def test_a_chain_of_actors_that_never_await_interleaves_within_parallelism() -> None:
    total = 400
    operator = InMemoryQueueOperator()
    first_runs = 0
    seen_by_second: list[tuple[int, int]] = []  # (First's runs so far, First's leased messages)

    class First:
        async def process(self, event: Event) -> list[Event]:
            nonlocal first_runs
            first_runs += 1  # no await anywhere: nothing else suspends this worker
            return [Event(event_type="Second", body=event.body)]

    class Second:
        async def process(self, event: Event) -> list[Event]:
            depth = await operator.depth("First-Work")
            seen_by_second.append((first_runs, depth.leased))
            return []

    descriptors = [
        ActorDescriptor(First, "First-Work", parallelism=4, emits=("Second",)),
        ActorDescriptor(Second, "Second-Work", parallelism=4),
    ]
    await operator.setup_queue("First-Work")
    await operator.push_batch([Event(event_type="First", body=str(n)) for n in range(total)])
    async with ActorHost(operator, descriptors):
        await operator.wait_idle(timeout=30)

    assert len(seen_by_second) == total
    first_runs_when_second_started = seen_by_second[0][0]
    assert first_runs_when_second_started < total / 4, "the second actor starts long before"
    assert max(leased for _, leased in seen_by_second) == 4, "parallelism reached, not exceeded"


# -- publishing, stopping, leases, broker failures ------------------------------------------------


class Part(BaseModel):
    n: int


class Splitter:
    async def process(self, event: Event) -> list[Event]:
        return [
            Event(Part(n=1)),
            Event(Part(n=2)),
            Event(Part(n=3)),
            Event(OrderShipped(order_id="o")),
        ]


async def test_several_events_for_one_destination_are_all_published_then_completed() -> None:
    received: list[int] = []

    @actor("Part-Count")
    class Count:
        async def process(self, event: Event) -> list[Event]:
            received.append(event.body_as(Part).n)
            return []

    split = descriptor(Splitter, emits=["Part", "OrderShipped"])
    async with ActorHarness([split, *discover(Count)]) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    assert sorted(received) == [1, 2, 3]
    assert [e.body_as(Part).n for e in hive.published(Part)] == [1, 2, 3]
    assert len(hive.published(OrderShipped)) == 1
    assert hive.host.stats()["Splitter@Job-Work"].succeeded == 1


async def test_stop_leases_nothing_more_and_does_not_wait_out_a_long_poll() -> None:
    processed: list[int] = []
    started, release = asyncio.Event(), asyncio.Event()

    class Held:
        async def process(self, event: Event) -> list[Event]:
            started.set()
            await release.wait()
            processed.append(event.body_as(Job).n)
            return []

    operator = InMemoryQueueOperator()
    host = ActorHost(operator, [descriptor(Held, parallelism=2)], poll_wait=60)
    await host.start()
    await operator.push(Event(Job(n=1)))
    await asyncio.wait_for(started.wait(), timeout=10)  # one worker busy, one long-polling

    stopping = asyncio.create_task(host.stop(grace=30))
    await until(lambda: not host.running, timeout=5, what="the stop to begin")
    await operator.push(Event(Job(n=2)))  # arrives during the stop: no worker may take it
    release.set()
    await asyncio.wait_for(stopping, timeout=10)  # not 60 s: the long poll was cancelled

    assert processed == [1], "the in-flight message finished; nothing new was leased"
    depth = await operator.depth("Job-Work")
    assert (depth.active, depth.leased) == (1, 0)


class RemoteSettling(InMemoryQueueOperator):
    """Giving a message back takes a round trip, as on a real broker."""

    async def abandon(self, event: Event, delay: float | timedelta | None = None) -> None:
        await asyncio.sleep(0.01)
        await super().abandon(event, delay)


async def test_stop_returns_once_cancelled_messages_are_given_back() -> None:
    started = asyncio.Event()

    class Stuck:
        async def process(self, event: Event) -> list[Event]:
            started.set()
            await asyncio.Event().wait()
            return []

    operator = RemoteSettling()
    host = ActorHost(operator, [descriptor(Stuck, parallelism=3)])
    await host.start()
    await operator.push_batch([Event(Job(n=n)) for n in range(3)])
    await asyncio.wait_for(started.wait(), timeout=10)

    await host.stop(grace=0)

    depth = await operator.depth("Job-Work")
    assert (depth.active, depth.leased) == (3, 0), "every message is back, none still leased"
    assert host.stats()["Stuck@Job-Work"].in_flight == 0


class RenewalSpy(InMemoryQueueOperator):
    """Records which events had their lease renewed, and wakes waiters on each renewal."""

    def __init__(self) -> None:
        super().__init__()
        self.renewed: Counter[str] = Counter()
        self.renewal = asyncio.Condition()

    async def renew_lease(self, event: Event) -> None:
        self.renewed[event.id] += 1
        async with self.renewal:
            self.renewal.notify_all()
        await super().renew_lease(event)

    async def renewed_at_least(self, event_id: str, times: int) -> None:
        async with self.renewal:
            await self.renewal.wait_for(lambda: self.renewed[event_id] >= times)


async def test_only_messages_still_in_flight_have_their_lease_renewed() -> None:
    operator = RenewalSpy()
    slow_job = Event(Job(n=0))

    class SlowFirst:
        async def process(self, event: Event) -> list[Event]:
            if event.id == slow_job.id:  # held until its lease was renewed twice
                await operator.renewed_at_least(slow_job.id, 2)
            return []

    quick = [Event(Job(n=n)) for n in range(1, 20)]
    slow = descriptor(SlowFirst, parallelism=2, lease_seconds=0.2)
    async with ActorHost(operator, [slow]) as host:
        await operator.push(slow_job)
        await operator.push_batch(quick)
        await operator.wait_idle(timeout=10)

    assert set(operator.renewed) == {slow_job.id}, "settled messages left the in-flight table"
    assert host.stats()["SlowFirst@Job-Work"].succeeded == 20


async def test_a_hung_actor_loses_its_lease_after_max_lease_seconds() -> None:
    deliveries: list[int] = []
    second = asyncio.Event()

    class Hung:
        async def process(self, event: Event) -> list[Event]:
            deliveries.append(event.delivery_count)
            if event.delivery_count == 1:
                await second.wait()  # hung until the broker gives the message to another
            else:
                second.set()
            return []

    hung = descriptor(Hung, parallelism=2, lease_seconds=0.2, max_lease_seconds=0.4)
    async with ActorHarness([hung]) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle(timeout=10)

    assert deliveries == [1, 2]
    stats = hive.host.stats()["Hung@Job-Work"]
    assert (stats.succeeded, stats.lease_lost) == (1, 1)


class CountingBackoff(Backoff):
    """Asks for no delay, and remembers which attempt each delay was for."""

    def __init__(self) -> None:
        super().__init__(initial=0.0, maximum=0.0, jitter=0.0)
        object.__setattr__(self, "attempts", [])

    def delay(self, attempt: int) -> float:
        self.attempts.append(attempt)  # type: ignore[attr-defined]
        return 0.0


async def test_leasing_failures_back_off_more_each_time_and_start_over_after_a_success() -> None:
    backoff = CountingBackoff()
    faults = FaultyQueueOperator(InMemoryQueueOperator())
    await faults.setup_queue("Job-Work")
    faults.fail_next("next", times=3)
    handled = asyncio.Event()

    class Note:
        async def process(self, event: Event) -> list[Event]:
            handled.set()
            return []

    async with ActorHost(faults, [descriptor(Note)], backoff=backoff, poll_wait=0.05):
        await faults.push(Event(Job(n=1)))
        await asyncio.wait_for(handled.wait(), timeout=10)
        faults.fail_next("next")
        await until(lambda: len(backoff.attempts) == 4, timeout=10, what="a fourth delay")  # type: ignore[attr-defined]

    assert backoff.attempts == [1, 2, 3, 1]  # type: ignore[attr-defined]


async def test_an_idempotent_actor_that_returns_nothing_runs_once_and_is_closed_once() -> None:
    runs = 0
    closed = 0

    @actor("Job-Work", idempotent=True)
    class Quiet:
        async def process(self, event: Event) -> list[Event]:
            nonlocal runs
            runs += 1
            return None  # type: ignore[return-value]

        async def aclose(self) -> None:
            nonlocal closed
            closed += 1

    job = Event(Job(n=1))
    async with ActorHarness(discover(Quiet)) as hive:
        await hive.publish(job)
        await hive.wait_idle()
        await hive.publish(job.model_copy())
        await hive.wait_idle()

    assert (runs, closed) == (1, 1)
    stats = hive.host.stats()["Quiet@Job-Work"]
    assert (stats.succeeded, stats.duplicates) == (1, 1)
    assert hive.published() == [job, job]  # only the test's publications


class Refusing:
    async def process(self, event: Event) -> list[Event]:
        raise DeadLetter("refused")


async def test_at_info_a_success_logs_nothing_and_a_dead_letter_one_entry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    ok, refused = Event(Job(n=1)), Event(Job(n=2), queue_name="Refused")
    descriptors = [descriptor(Steady, emits=["OrderShipped"]), descriptor(Refusing, "Refused")]
    async with ActorHarness(descriptors) as hive:
        await hive.publish(ok, refused)
        await hive.wait_idle()

    assert not [r for r in caplog.records if ok.id in r.getMessage()]
    (entry,) = [r for r in caplog.records if refused.id in r.getMessage()]
    assert entry.levelno == logging.ERROR
    assert "Refusing@Refused raised DeadLetter: refused" in entry.getMessage()


# -- leases on simulated time: exact boundaries ---------------------------------------------------


async def test_a_busy_message_has_its_lease_renewed_every_quarter_lease() -> None:
    class Busy:
        async def process(self, event: Event) -> list[Event]:
            await asyncio.sleep(1.9)  # under a 1 s lease: renewed at 0.25, 0.5, ... 1.75 s
            return []

    busy = descriptor(Busy, lease_seconds=1, max_lease_seconds=60)
    async with ActorHarness([busy], clock=VirtualClock()) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    stats = hive.host.stats()["Busy@Job-Work"]
    assert (stats.succeeded, stats.lease_lost, stats.lease_renewals) == (1, 0, 7)


async def test_a_hung_actor_holds_its_message_for_exactly_max_lease_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    leased_at: list[float] = []

    class Hung:
        async def process(self, event: Event) -> list[Event]:
            leased_at.append(monotonic())
            if event.delivery_count == 1:
                await asyncio.Event().wait()  # hung for good
            return []

    hung = descriptor(Hung, parallelism=2, lease_seconds=1, max_lease_seconds=2)
    async with ActorHarness([hung], clock=VirtualClock()) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()  # the second delivery completed it
        stats = hive.host.stats()["Hung@Job-Work"]

    first, second = leased_at
    assert second - first == 2, "renewed up to max_lease_seconds, not a quarter lease less"
    assert (stats.succeeded, stats.lease_renewals) == (1, 4)  # at 0.25, 0.5, 0.75 and 1 s
    (job,) = hive.published(Job)
    assert host_log(caplog) == [  # the stop could not give the hung one back: it is not ours
        (
            "WARNING",
            f"Hung@Job-Work: the lease on event Job {job.id} in Job-Work was lost (it expired, "
            "or its connection closed); the broker delivers it again",
            False,
        )
    ]


# -- what a dead letter and an outgoing event say -------------------------------------------------


class Note(BaseModel):
    text: str


class Failing:
    async def process(self, event: Event) -> list[Event]:
        raise ValueError(event.body_as(Note).text)


async def test_a_dead_letter_says_who_gave_up_why_and_at_which_delivery() -> None:
    short, long = Event(Note(text="declined")), Event(Note(text="x" * 5000))
    async with ActorHarness(
        [descriptor(Failing, "Note-Work", max_deliveries=2)], raise_errors=False, backoff=FAST
    ) as hive:
        await hive.publish(short, long)
        await hive.wait_idle()

    dead = {e.id: DeadLetterInfo.of(e) for e in hive.dead_letters("Note-Work")}
    info = dead[short.id]
    assert info.reason == "Failing@Note-Work raised ValueError: declined (delivery 2 of 2)"
    assert (info.description, info.actor, info.error_type, info.delivery_count) == (
        "ValueError",
        "Failing@Note-Work",
        "ValueError",
        2,
    )
    assert len(dead[long.id].reason) == 4096, "cut to what every broker takes"
    assert dead[long.id].reason.startswith("Failing@Note-Work raised ValueError: xxx")


async def test_an_actor_may_set_its_own_correlation_and_the_host_sets_causation() -> None:
    class Own:
        async def process(self, event: Event) -> list[Event]:
            return [
                Event(event_type="Done", correlation_id="order-7"),
                Event(event_type="Done"),
            ]

    incoming = Event(Job(n=1), correlation_id="order-1")
    async with ActorHarness([descriptor(Own, emits=["Done"])]) as hive:
        await hive.publish(incoming)
        await hive.wait_idle()

    kept, inherited = hive.published("Done")
    assert (kept.correlation_id, kept.causation_id) == ("order-7", incoming.id)
    assert (inherited.correlation_id, inherited.causation_id) == ("order-1", incoming.id)


async def test_a_list_holding_something_else_than_events_is_refused_naming_it() -> None:
    class Sloppy:
        async def process(self, event: Event) -> list[Event]:
            return [Event(event_type="Done"), "Done"]  # type: ignore[list-item]

    sloppy = descriptor(Sloppy, emits=["Done"], max_deliveries=1)
    async with ActorHarness([sloppy], raise_errors=False) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    (dead,) = hive.dead_letters("Job-Work")
    assert DeadLetterInfo.of(dead).reason == (
        "Sloppy@Job-Work raised TypeError: process must return a list of Event, and it held "
        "'Done' (delivery 1 of 1)"
    )
    assert hive.published("Done") == [], "nothing of it was published"


async def test_on_failure_hears_of_unexpected_errors_only_and_a_refusal_keeps_its_reason() -> None:
    heard: list[tuple[str, str, str]] = []

    class Picky:
        async def process(self, event: Event) -> list[Event]:
            if event.body_as(Note).text == "refuse":
                if event.delivery_count < 3:
                    raise Retry(delay=0)  # not an error either
                raise DeadLetter("not for us")  # at its last delivery
            raise ValueError(event.body_as(Note).text)

    operator = InMemoryQueueOperator()
    refused, broken = Event(Note(text="refuse")), Event(Note(text="broken"))
    host = ActorHost(
        operator,
        [descriptor(Picky, "Note-Work", max_deliveries=3)],
        on_failure=lambda d, e, error: heard.append((d.name, e.id, repr(error))),
        backoff=FAST,
    )
    async with host:
        await operator.push_batch([refused, broken])
        await operator.wait_idle(timeout=20)

    assert heard == [("Picky@Note-Work", broken.id, "ValueError('broken')")] * 3
    dead = {e.id: DeadLetterInfo.of(e) for e in await operator.dead_letters("Note-Work")}
    assert dead[refused.id].reason == "Picky@Note-Work raised DeadLetter: not for us"
    assert dead[refused.id].delivery_count == 3, "a refusal is no failure: no delivery count"


async def test_a_stop_while_a_middleware_holds_the_message_gives_it_back() -> None:
    class Gate(Middleware):
        def __init__(self) -> None:
            self.entered = asyncio.Event()
            self.outcomes: list[Outcome] = []

        async def handle(self, message: Message, call_next: Handle) -> Outcome:
            self.entered.set()
            await asyncio.Event().wait()  # holds the message before the actor runs
            return await call_next(message)

        def settled(self, message: Message, outcome: Outcome) -> None:
            self.outcomes.append(outcome)

    gate = Gate()
    operator = InMemoryQueueOperator()
    host = ActorHost(operator, [descriptor(Steady)], middleware=[gate])
    await host.start()
    await operator.push(Event(Job(n=1)))
    await asyncio.wait_for(gate.entered.wait(), timeout=10)

    await host.stop(grace=0)

    depth = await operator.depth("Job-Work")
    assert (depth.active, depth.leased) == (1, 0), "given back at once, not left to expire"
    assert gate.outcomes == [Outcome.ABANDONED]
    assert host.stats()["Steady@Job-Work"].in_flight == 0


async def test_the_logged_duration_is_the_time_from_lease_to_settlement(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Measured:
        async def process(self, event: Event) -> list[Event]:
            await asyncio.sleep(1 + 2**-10)  # a duration a float holds exactly
            return []

    caplog.set_level(logging.DEBUG, logger="beehive.host")
    async with ActorHarness([descriptor(Measured)], clock=VirtualClock()) as hive:
        job = Event(Job(n=1))
        await hive.publish(job)
        await hive.wait_idle()

    (record,) = [r for r in caplog.records if getattr(r, "event_id", None) == job.id]
    assert record.getMessage() == f"Measured@Job-Work succeeded Job {job.id} delivery=1 1001.0ms"
    fields = {key: record.__dict__[key] for key in ("actor", "event_type", "duration_ms")}
    assert fields == {"actor": "Measured@Job-Work", "event_type": "Job", "duration_ms": 1000.977}


class Settlements(Middleware):
    """Records how each message ended, in order."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.published: list[int] = []

    async def publish(self, message: Message, events: list[Event], call_next: Publish) -> None:
        self.published.append(len(events))
        await call_next(message, events)

    def settled(self, message: Message, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


async def test_a_lease_lost_while_processing_or_completing_ends_as_lease_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Late:
        async def process(self, event: Event) -> list[Event]:
            if event.body_as(Job).n == 1 and event.delivery_count == 1:
                raise LeaseLostError("the broker took it back")  # as a settle inside would
            if event.body_as(Job).n == 2 and event.delivery_count == 1:
                await asyncio.sleep(2)  # past its one-second lease: completing it fails
            if event.body_as(Job).n == 3 and event.delivery_count == 1:
                await asyncio.sleep(2)
                raise ValueError("too late")  # its retry cannot be asked for any more
            return []

    settlements = Settlements()
    late = descriptor(Late, parallelism=2, lease_seconds=1, max_lease_seconds=1)
    clock = VirtualClock()
    async with ActorHarness(
        [late], clock=clock, middleware=[settlements], raise_errors=False
    ) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()  # left to expire, then delivered again: not retried at once
        assert clock.elapsed == timedelta(seconds=1)
        second = Event(Job(n=2))
        await hive.publish(second)
        await hive.wait_idle()
        await hive.advance(seconds=1)  # the first attempt ends, and cannot complete
        third = Event(Job(n=3))
        await hive.publish(third)
        await hive.wait_idle()
        await hive.advance(seconds=1)  # the first attempt fails, and cannot be given back
        stats = hive.host.stats()["Late@Job-Work"]

    lost, succeeded = Outcome.LEASE_LOST, Outcome.SUCCEEDED
    # The redeliveries of jobs 2 and 3 end before their first attempts do.
    assert settlements.outcomes == [lost, succeeded, succeeded, lost, succeeded, lost]
    assert (stats.retried, stats.succeeded, stats.lease_lost) == (0, 3, 3)
    was_lost = "was lost (it expired, or its connection closed); the broker delivers it again"
    assert host_log(caplog) == [  # warnings, not errors: the broker delivers them again
        ("WARNING", "Late@Job-Work: the broker took it back", False),
        (
            "WARNING",
            f"Late@Job-Work: the lease on event Job {second.id} in Job-Work {was_lost}",
            False,
        ),
        (
            "WARNING",
            f"Late@Job-Work: the lease on event Job {third.id} in Job-Work {was_lost}",
            False,
        ),
    ]


async def test_a_publish_middleware_sees_the_publish_step_even_with_nothing_to_publish() -> None:
    settlements = Settlements()
    async with ActorHarness([descriptor(Closing)], middleware=[settlements]) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    assert settlements.published == [0]
    assert settlements.outcomes == [Outcome.SUCCEEDED]


async def test_workers_and_the_lease_renewer_are_named_after_their_actor() -> None:
    async with ActorHarness([descriptor(Closing, parallelism=2)]):
        names = {task.get_name() for task in asyncio.all_tasks()}

    assert {"Closing@Job-Work#0", "Closing@Job-Work#1", "Closing@Job-Work#renew"} <= names


async def test_a_middleware_failing_after_the_message_was_settled_does_not_settle_it_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Clumsy(Middleware):
        async def handle(self, message: Message, call_next: Handle) -> Outcome:
            await call_next(message)
            raise RuntimeError("bookkeeping failed")

    settlements = Settlements()
    async with ActorHarness(
        [descriptor(Steady, emits=["OrderShipped"])], middleware=[settlements, Clumsy()]
    ) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    assert settlements.outcomes == [Outcome.SUCCEEDED], "completed once, neither retried nor lost"
    assert len(hive.published(OrderShipped)) == 1
    assert host_log(caplog) == [
        ("ERROR", "Steady@Job-Work: a middleware failed after settling", True)
    ]


async def test_a_stopped_host_leaves_no_task_of_its_own_behind() -> None:
    class Closer(Middleware):
        """Stops after the consumers: what it would close, no worker or renewer still uses."""

        async def stop(self) -> None:
            self.left = {t.get_name() for t in asyncio.all_tasks() if not t.done()} - before

    closer = Closer()
    host = ActorHost(
        InMemoryQueueOperator(), [descriptor(Closing, parallelism=2)], middleware=[closer]
    )
    host.pulse("Tick", every=60)
    before = {t.get_name() for t in asyncio.all_tasks()}
    await host.start()
    await asyncio.sleep(0)

    await host.stop()

    assert closer.left == set(), "workers, lease renewer and pulser had all ended"
    assert {t.get_name() for t in asyncio.all_tasks()} == before


async def test_a_stop_during_a_middlewares_after_work_reports_the_true_outcome() -> None:
    class SlowBookkeeping(Middleware):
        def __init__(self) -> None:
            self.after = asyncio.Event()

        async def handle(self, message: Message, call_next: Handle) -> Outcome:
            outcome = await call_next(message)
            self.after.set()
            await asyncio.Event().wait()  # still writing it down when the stop comes
            return outcome

    settlements, slow = Settlements(), SlowBookkeeping()
    operator = InMemoryQueueOperator()
    host = ActorHost(operator, [descriptor(Closing)], middleware=[settlements, slow])
    await host.start()
    await operator.push(Event(Job(n=1)))
    await asyncio.wait_for(slow.after.wait(), timeout=10)

    await host.stop(grace=0)

    assert settlements.outcomes == [Outcome.SUCCEEDED], "completed: not given back"
    assert operator.is_idle


async def test_a_message_leased_between_two_renewals_waits_a_full_quarter_lease() -> None:
    class Busy:
        async def process(self, event: Event) -> list[Event]:
            await asyncio.sleep(1)
            return []

    busy = descriptor(Busy, lease_seconds=1, max_lease_seconds=60)
    async with ActorHarness([busy], clock=VirtualClock()) as hive:
        await hive.advance(seconds=0.1)  # the renewer ticks at 0.25, 0.5, 0.75, 1 s...
        await hive.publish(Event(Job(n=1)))  # ...so this lease is 0.15 s old at the first
        await hive.wait_idle()

    assert hive.host.stats()["Busy@Job-Work"].lease_renewals == 3  # at 0.5, 0.75 and 1 s


# -- the host's settings and checks ---------------------------------------------------------------


class Waits(InMemoryQueueOperator):
    """Remembers how long each long poll was asked to wait."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: set[float] = set()

    async def next(
        self, name: str | QueueName, *, max_count: int = 1, wait: float | timedelta = 0
    ) -> list[Event]:
        self.waits.add(float(wait))  # type: ignore[arg-type]
        return await super().next(name, max_count=max_count, wait=wait)


async def test_by_default_a_host_long_polls_5_s_and_a_stop_waits_30_s_for_work_in_flight() -> None:
    started = asyncio.Event()

    class Stuck:
        async def process(self, event: Event) -> list[Event]:
            started.set()
            await asyncio.Event().wait()
            return []

    operator = Waits()
    host = ActorHost(operator, [descriptor(Stuck)])
    async with VirtualClock() as clock:
        await host.start()
        await operator.push(Event(Job(n=1)))
        await started.wait()
        stopped_at = clock.elapsed

        await host.stop()

        assert clock.elapsed - stopped_at == timedelta(seconds=30)
    assert operator.waits == {5.0}
    assert (await operator.depth("Job-Work")).active == 1, "given back after the grace"


async def test_a_pulse_needs_a_positive_interval_and_sends_an_empty_json_object() -> None:
    host = ActorHost(InMemoryQueueOperator(), [])

    with pytest.raises(ValueError, match=r"^pulse interval must be positive, got 0.0$"):
        host.pulse("Tick", every=0)
    with pytest.raises(ValueError, match=r"^pulse interval must be positive, got -1.0$"):
        host.pulse("Tick", every=timedelta(seconds=-1))

    received: list[str] = []

    @actor("Tick-Read")
    class Read:
        async def process(self, event: Event) -> list[Event]:
            received.append(event.body)
            return []

    async with ActorHarness(discover(Read), clock=VirtualClock()) as hive:
        hive.host.pulse("Tick", every=60)
        await hive.advance(minutes=2)

    assert received == ["{}", "{}"]


async def test_actors_that_need_an_inbox_or_claims_are_named_when_they_lack_them() -> None:
    @actor("Job-A", idempotent=True, exclusive=True)
    class A:
        async def process(self, event: Event) -> list[Event]:
            return []

    @actor("Job-B", idempotent=True, exclusive=True)
    class B(A):
        pass

    both = discover(A, B)
    unclaimed = Inbox(InMemoryCollectionStore(InboxRecord))  # no claims

    with pytest.raises(ActorConfigurationError) as no_inbox:
        await ActorHost(InMemoryQueueOperator(), both).start()
    with pytest.raises(ActorConfigurationError) as no_claims:
        await ActorHost(InMemoryQueueOperator(), both, inbox=unclaimed).start()
    with pytest.raises(ActorConfigurationError) as one:
        await ActorHost(InMemoryQueueOperator(), discover(A), inbox=unclaimed).start()
    async with ActorHost(InMemoryQueueOperator(), both, inbox=Inbox.in_memory()) as host:
        assert host.running

    assert str(no_inbox.value) == (
        "A@Job-A, B@Job-B are idempotent, and the host has no inbox: "
        "pass ActorHost(..., inbox=Inbox(store))"
    )
    assert str(no_claims.value) == (
        "A@Job-A, B@Job-B are exclusive, and the host's inbox has no claims: pass "
        "Inbox(store, claims=Claims(lock_store)) with a lock store every host shares"
    )
    assert str(one.value).startswith("A@Job-A is exclusive, and")


async def test_an_actor_may_send_to_a_plain_queue_another_actor_reads() -> None:
    @actor("Start-Forward", emits=["Jobs"])
    class Forward:
        async def process(self, event: Event) -> list[Event]:
            return [Event(event_type="Job", queue_name="Jobs", body=event.body)]

    @actor("Jobs")
    class Work:
        done: list[str] = []

        async def process(self, event: Event) -> list[Event]:
            Work.done.append(event.body)
            return []

    async with ActorHarness(discover(Forward, Work)) as hive:  # "Jobs" is a queue, not a topic
        await hive.publish(Event(event_type="Start", body='"go"'))
        await hive.wait_idle()

    assert Work.done == ['"go"']


# -- what the host logs -------------------------------------------------------------------------


def host_log(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, bool]]:
    """The host's log records: level, message, and whether a traceback goes with it."""
    return [
        (r.levelname, r.getMessage(), r.exc_info is not None)
        for r in caplog.records
        if r.name == "beehive.host" and r.levelno >= logging.WARNING
    ]


async def test_what_the_host_logs_when_the_broker_fails(caplog: pytest.LogCaptureFixture) -> None:
    class Slowish:
        async def process(self, event: Event) -> list[Event]:
            if event.body_as(Job).n == 3:
                raise ValueError("no")
            await asyncio.sleep(0.3)  # one lease renewal, at 0.25 s
            return []

    faults = FaultyQueueOperator(InMemoryQueueOperator())
    await faults.setup_queue("Job-Work")
    host = ActorHost(
        faults,
        [descriptor(Slowish, lease_seconds=1, max_deliveries=3)],
        backoff=CountingBackoff(),
        poll_wait=1,
    )
    first, third = Event(Job(n=1)), Event(Job(n=3))
    async with VirtualClock(), host:
        faults.fail_next("next")
        faults.fail_next("renew_lease")
        faults.fail_next("complete")
        await faults.push(first)
        await faults.wait_idle()
        faults.fail_next("abandon")
        await faults.push(third)
        await faults.wait_idle()

    retried = "Slowish@Job-Work raised ValueError: no"
    assert host_log(caplog) == [
        ("ERROR", "Slowish@Job-Work: leasing from Job-Work failed", True),
        ("WARNING", "Slowish@Job-Work: injected: renew_lease failed", False),
        ("ERROR", f"Slowish@Job-Work: completing Job {first.id} failed", True),
        ("ERROR", f"Slowish@Job-Work: settling Job {third.id} failed", True),  # its abandon
        ("WARNING", f"Slowish@Job-Work: {retried}, retrying in 0.00s", True),
        (
            "ERROR",
            f"Slowish@Job-Work: dead-lettered Job {third.id}: {retried} (delivery 3 of 3)",
            True,
        ),
    ]


async def test_what_the_host_logs_about_actors_and_middleware(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Fragile:
        async def process(self, event: Event) -> list[Event]:
            if event.body_as(Job).n == 2:
                raise DeadLetter("no thanks")
            if event.body_as(Job).n == 3:
                raise KeyError("n")
            return []

        async def aclose(self) -> None:
            raise OSError("socket already closed")

    class Careless(Middleware):
        def settled(self, message: Message, outcome: Outcome) -> None:
            raise RuntimeError("forgot to count")

    fragile = descriptor(Fragile, max_deliveries=1)
    jobs = [Event(Job(n=n)) for n in (1, 2, 3)]
    async with ActorHarness([fragile], middleware=[Careless()], raise_errors=False) as hive:
        for job in jobs:  # one at a time, so the log reads in order
            await hive.publish(job)
            await hive.wait_idle()

    aclose = ("ERROR", "Fragile@Job-Work: aclose failed", True)
    settled = ("ERROR", "Fragile@Job-Work: a middleware failed on a settled message", True)
    assert host_log(caplog) == [
        aclose,
        settled,
        aclose,
        (
            "ERROR",
            f"Fragile@Job-Work: dead-lettered Job {jobs[1].id}: "
            "Fragile@Job-Work raised DeadLetter: no thanks",
            False,
        ),
        settled,
        aclose,
        (
            "ERROR",
            f"Fragile@Job-Work: dead-lettered Job {jobs[2].id}: "
            "Fragile@Job-Work raised KeyError: 'n' (delivery 1 of 1)",
            True,
        ),
        settled,
    ]


async def test_a_host_says_when_it_started_and_stopped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="beehive.host")
    async with ActorHost(InMemoryQueueOperator(), [descriptor(Closing), descriptor(Steady, "A-B")]):
        pass

    assert [r.getMessage() for r in caplog.records if r.name == "beehive.host"] == [
        "host started 2 actors",
        "host stopped",
    ]


async def test_two_actors_reading_one_event_make_events_of_their_own() -> None:
    """Ids derived from the event handled name the actor too: two subscriptions of a topic
    answering with the same event type send two events, not one id twice."""

    class Answer:
        async def process(self, event: Event) -> list[Event]:
            return [Event(event_type="Answered")]

    class Echo(Answer):
        pass

    readers = [
        descriptor(Answer, "Job-Answer", emits=["Answered"]),
        descriptor(Echo, "Job-Echo", emits=["Answered"]),
    ]
    async with ActorHarness(readers) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()

    first, second = hive.published("Answered")
    assert first.id != second.id
