"""What the QueueOperator base does for every backend: settings, dead-letter metadata, replays,
ids, error translation and lease bookkeeping, seen through the in-memory broker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from beehive import BrokerLimitError, BrokerUnavailableError, Event, LeaseLostError, QueueName
from beehive._clock import utcnow
from beehive.errors import BeeHiveError
from beehive.queues import DeadLetterInfo, InMemoryQueueOperator, QueueSettings
from beehive.queues.base import no_destination, replayed
from beehive.testing import VirtualClock


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"max_deliveries": 0}, "max_deliveries must be at least 1, got 0"),
        ({"lease_seconds": 0}, "lease_seconds must be positive, got 0"),
        ({"lease_seconds": -1.5}, "lease_seconds must be positive, got -1.5"),
        ({"prefetch": 0}, "prefetch must be at least 1, got 0"),
    ],
    ids=["max_deliveries", "lease_seconds", "negative_lease_seconds", "prefetch"],
)
def test_queue_settings_refuse_what_no_broker_can_do(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError, match=f"^{error}$"):
        QueueSettings(**settings)


# -- dead-letter metadata and replays -----------------------------------------------------------


def test_an_event_without_dead_letter_metadata_reads_as_empty() -> None:
    info = DeadLetterInfo.of(Event(event_type="Job", properties={"dead_lettered_at": 7}))

    assert info == DeadLetterInfo(reason="", dead_lettered_at=None)


def test_dead_letter_metadata_sets_only_the_properties_it_knows() -> None:
    assert DeadLetterInfo("Broken").properties() == {"dead_letter_reason": "Broken"}
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert DeadLetterInfo("Broken", dead_lettered_at=at).properties() == {
        "dead_letter_reason": "Broken",
        "dead_lettered_at": "2030-01-02T03:04:05+00:00",
    }


def test_a_replay_counts_itself_and_starts_the_deliveries_afresh() -> None:
    now = datetime(2030, 1, 2, tzinfo=UTC)
    dead = Event(event_type="Job", delivery_count=3, properties={"dead_letter_reason": "X"})

    once = replayed(dead, now)
    twice = replayed(once.evolve({"delivery_count": 5}), now)
    foreign = replayed(Event(event_type="Job", properties={"replay_count": "two"}), now)

    assert once.delivery_count == twice.delivery_count == 0  # the next delivery is the first
    assert once.properties == {"replay_count": 1, "replayed_at": "2030-01-02T00:00:00+00:00"}
    assert twice.properties["replay_count"] == 2
    assert foreign.properties["replay_count"] == 1, "a count another tool wrote is not ours"


def test_an_event_sent_nowhere_is_told_what_to_do() -> None:
    event = Event(event_type="Job", id="e-1")

    assert str(no_destination(event, "Jobs")) == (
        "cannot publish event Job e-1: no topic or queue named 'Jobs'; call setup_queue first"
    )


# -- arguments and ids --------------------------------------------------------------------------


async def test_ids_up_to_the_limit_pass_and_one_more_character_is_refused() -> None:
    operator = InMemoryQueueOperator()
    await operator.setup_queue("Jobs")
    longest = "i" * 128

    await operator.push(Event(event_type="Job", queue_name="Jobs", id=longest, session_id=longest))
    with pytest.raises(BrokerLimitError) as refused:
        await operator.push(Event(event_type="Job", queue_name="Jobs", id=longest + "i"))
    with pytest.raises(BrokerLimitError, match="has a session_id of 129 characters"):
        await operator.push_batch(
            [
                Event(event_type="Job", queue_name="Jobs"),
                Event(event_type="Job", queue_name="Jobs", session_id=longest + "s"),
            ]
        )

    assert str(refused.value) == (
        "event Job has a id of 129 characters; the limit is 128 (Service Bus's for message and "
        "session ids, which InMemoryQueueOperator applies too, so code that works here works "
        "there)"
    )
    assert operator.pending == 1, "nothing of a refused batch was sent"


async def test_every_dropped_event_is_counted() -> None:
    operator = InMemoryQueueOperator()
    await operator.setup_queue(QueueName.topic_of("Orders"))  # a topic without subscriptions

    for _ in range(3):
        await operator.push(Event(event_type="Orders"))

    assert operator.dropped == 3


async def test_next_does_not_wait_unless_told_and_waits_a_timedelta_when_told() -> None:
    operator = InMemoryQueueOperator()
    async with VirtualClock() as clock:
        await operator.setup_queue("Jobs")
        in_two = utcnow() + timedelta(seconds=2)
        await operator.push(Event(event_type="Job", queue_name="Jobs", enqueue_time=in_two))

        assert await operator.next("Jobs") == []
        assert clock.elapsed == timedelta(0), "no wait by default"
        (event,) = await operator.next("Jobs", wait=timedelta(seconds=5))
        assert clock.elapsed == timedelta(seconds=2)
        await operator.complete(event)


# -- lease bookkeeping --------------------------------------------------------------------------


async def test_renewing_a_lost_lease_says_so_once_then_forgets_it() -> None:
    operator = InMemoryQueueOperator()
    async with VirtualClock() as clock:
        await operator.setup_queue("Jobs", QueueSettings(lease_seconds=1))
        job = Event(event_type="Job", queue_name="Jobs", id="e-1")
        await operator.push(job)
        (leased,) = await operator.next("Jobs")
        await clock.advance(2)

        with pytest.raises(LeaseLostError) as lost:
            await operator.renew_lease(leased)
        with pytest.raises(LeaseLostError, match=r"^event Job e-1 is not leased here"):
            await operator.renew_lease(leased)
        with pytest.raises(LeaseLostError, match=r"^event Job e-1 is not leased here"):
            await operator.renew_lease(job)  # an equal event, not the one next() returned

    assert str(lost.value) == (
        "the lease on event Job e-1 in Jobs was lost (it expired, or its connection closed); "
        "the broker delivers it again"
    )


async def test_settling_a_lost_lease_names_the_event_and_its_queue() -> None:
    operator = InMemoryQueueOperator()
    async with VirtualClock() as clock:
        await operator.setup_queue("Jobs", QueueSettings(lease_seconds=1))
        await operator.push(Event(event_type="Job", queue_name="Jobs", id="e-1"))
        (leased,) = await operator.next("Jobs")
        await clock.advance(2)

        with pytest.raises(LeaseLostError) as lost:
            await operator.complete(leased)

    assert str(lost.value) == (
        "the lease on event Job e-1 in Jobs was lost (it expired, or its connection closed); "
        "the broker delivers it again"
    )


# -- error translation --------------------------------------------------------------------------


class Unreachable(InMemoryQueueOperator):
    """Its broker library raises ``ConnectionResetError`` where asked; the backend translates
    it as a real one would."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[str] = set()

    def _translate(self, error: Exception) -> BeeHiveError | None:
        if isinstance(error, ConnectionResetError):
            return BrokerUnavailableError(f"the broker went away: {error}")
        return None

    def _fail(self, hook: str) -> None:
        if hook in self.failing:
            raise ConnectionResetError(f"{hook} reset")

    async def _send(self, events: Sequence[Event]) -> None:
        self._fail("send")
        await super()._send(events)

    async def _receive(self, name: Any, max_count: int, wait: float) -> Any:
        self._fail("receive")
        return await super()._receive(name, max_count, wait)

    async def _complete(self, handle: Any) -> None:
        self._fail("complete")
        await super()._complete(handle)

    async def _depth(self, name: Any) -> Any:
        self._fail("depth")
        return await super()._depth(name)


async def test_a_broker_librarys_errors_come_out_as_beehives_on_every_path() -> None:
    operator = Unreachable()
    await operator.setup_queue("Jobs")
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    (leased,) = await operator.next("Jobs")
    operator.failing = {"send", "receive", "complete", "depth"}
    job = Event(event_type="Job", queue_name="Jobs")

    attempts: list[tuple[Callable[[], Awaitable[object]], str]] = [
        (lambda: operator.push(job), "send"),
        (lambda: operator.push_batch([job]), "send"),
        (lambda: operator.next("Jobs"), "receive"),
        (lambda: operator.complete(leased), "complete"),
        (lambda: operator.depth("Jobs"), "depth"),
    ]
    for attempt, hook in attempts:
        with pytest.raises(BrokerUnavailableError, match=f"went away: {hook} reset") as raised:
            await attempt()
        assert isinstance(raised.value.__cause__, ConnectionResetError)


async def test_beehives_own_errors_and_untranslated_ones_pass_through_as_they_are() -> None:
    operator = Unreachable()
    await operator.setup_queue("Jobs")
    operator.failing = {"receive"}

    with pytest.raises(BrokerLimitError):  # raised by the base itself: not translated again
        await operator.push(Event(event_type="Job", queue_name="Jobs", id="i" * 129))
    operator._translate = lambda error: None  # type: ignore[method-assign]
    with pytest.raises(ConnectionResetError, match="receive reset"):
        await operator.next("Jobs")
