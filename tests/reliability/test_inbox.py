"""The idempotent inbox: its records, and what the host does with them."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from beehive import (
    ActorConfigurationError,
    ActorDescriptor,
    ActorHost,
    Event,
    actor,
)
from beehive.actors import descriptors_of
from beehive.claims import Claims
from beehive.errors import ConcurrencyConflictError
from beehive.inbox import Inbox, InboxRecord
from beehive.queues import InMemoryQueueOperator
from beehive.stores import InMemoryCollectionStore
from beehive.testing import (
    ActorHarness,
    FaultyQueueOperator,
    RecordingQueueOperator,
    SimulatedCrash,
)
from tests.reliability.support import FAST, until
from tests.stores.conftest import Backend


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class SpyStore(InMemoryCollectionStore[InboxRecord]):
    """Counts reads and writes, and fails the next ``fail_reads`` reads."""

    def __init__(self) -> None:
        super().__init__(InboxRecord, name="Inbox")
        self.calls: Counter[str] = Counter()
        self.fail_reads = 0
        self.crash_after_writes = 0

    async def _get(self, id: str) -> InboxRecord:
        self.calls["read"] += 1
        if self.fail_reads:
            self.fail_reads -= 1
            raise ConnectionError("injected: the store is unreachable")
        return await super()._get(id)

    async def _insert(self, entity: InboxRecord) -> InboxRecord:
        self.calls["write"] += 1
        stored = await super()._insert(entity)
        if self.crash_after_writes:
            self.crash_after_writes -= 1
            raise SimulatedCrash("injected: crashed after recording, before publishing")
        return stored

    async def _update(self, entity: InboxRecord, etag: str | None) -> InboxRecord:
        self.calls["write"] += 1
        return await super()._update(entity, etag)


def sent(n: int) -> list[Event]:
    return [Event(event_type="Done", body=str(i), causation_id="e-1") for i in range(n)]


# -- records --------------------------------------------------------------------------------------


async def test_records_are_recalled_until_they_expire_then_purged(backend: Backend) -> None:
    clock = Clock()
    async with backend.collection(InboxRecord) as store:
        inbox = Inbox(store, retention=timedelta(minutes=10), clock=clock)
        assert await inbox.recall("A@X-Y", "e-1") is None

        assert await inbox.record("A@X-Y", "e-1", sent(2)) is None
        clock.now += timedelta(minutes=5)
        assert await inbox.record("A@X-Y", "e-2", []) is None
        recalled = await inbox.recall("A@X-Y", "e-1")
        assert recalled is not None
        assert [e.body for e in recalled.events] == ["0", "1"]
        assert {e.causation_id for e in recalled.events} == {"e-1"}  # stamped, kept whole
        assert await inbox.recall("B@X-Y", "e-1") is None  # per actor

        clock.now += timedelta(minutes=5)
        assert await inbox.recall("A@X-Y", "e-1") is None  # expired: as if absent
        assert await inbox.purge_expired() == 1
        assert await inbox.recall("A@X-Y", "e-2") is not None
        assert [r.event_id async for r in store.list()] == ["e-2"]


async def test_recording_what_is_already_recorded_returns_the_first_record() -> None:
    inbox = Inbox.in_memory()
    assert await inbox.record("A@X-Y", "e-1", sent(1)) is None

    first = await inbox.record("A@X-Y", "e-1", sent(3))

    assert first is not None
    assert len(first.events) == 1


async def test_an_expired_record_is_overwritten() -> None:
    clock = Clock()
    inbox = Inbox.in_memory(retention=timedelta(seconds=1), clock=clock)
    await inbox.record("A@X-Y", "e-1", sent(1))
    clock.now += timedelta(seconds=2)

    assert await inbox.record("A@X-Y", "e-1", sent(2)) is None

    recalled = await inbox.recall("A@X-Y", "e-1")
    assert recalled is not None
    assert len(recalled.events) == 2


@pytest.mark.parametrize("event_id", ["x" * 300, "\ud800lone surrogate", "a/b#c?d%e", "ünïcødé 🐝"])
async def test_any_event_id_has_a_record(event_id: str) -> None:
    inbox = Inbox.in_memory()
    await inbox.record("A@X-Y", event_id, [])
    await inbox.record("A@X-Y", event_id + "!", [])

    assert await inbox.recall("A@X-Y", event_id) is not None
    assert Inbox.key("A@X-Y", event_id) != Inbox.key("A@X-Y", event_id + "!")
    assert len(Inbox.key("A@X-Y", event_id)) <= 255


def test_the_inbox_checks_its_settings() -> None:
    with pytest.raises(ValueError, match="retention must be positive"):
        Inbox.in_memory(retention=timedelta(0))
    with pytest.raises(ValueError, match="purge_every must be positive or None, got 0:00:00"):
        Inbox.in_memory(purge_every=timedelta(0))
    with pytest.raises(TypeError, match="CollectionStore of InboxRecord"):
        Inbox(InMemoryCollectionStore(ActorRecordLike))  # type: ignore[arg-type]
    assert Inbox.in_memory(purge_every=None).purge_every is None  # purged by its owner
    assert (
        repr(Inbox.in_memory())
        == "Inbox(InMemoryCollectionStore 'Inbox', retention=7 days, 0:00:00)"
    )


def test_an_inbox_keeps_the_claims_it_is_given_and_in_memory_makes_its_own() -> None:
    claims = Claims.in_memory()

    assert Inbox(InMemoryCollectionStore(InboxRecord), claims=claims).claims is claims
    assert Inbox(InMemoryCollectionStore(InboxRecord)).claims is None
    assert isinstance(Inbox.in_memory().claims, Claims)  # exclusive actors need them
    assert Inbox.in_memory(claims=claims).claims is claims


def test_record_keys_keep_their_format_so_records_outlive_an_upgrade() -> None:
    """A key is where a record is found: a host of the next version must find the records of
    this one, so the format is fixed, readable when the name rule allows, else a digest."""
    long_actor, long_id = "A" * 200 + "@X-Y", "e" * 300
    digest = hashlib.sha256(f"{long_actor}|{long_id}".encode()).hexdigest()

    assert Inbox.key("A@X-Y", "e-1") == "A@X-Y|e-1"
    assert Inbox.key(long_actor, long_id) == f"{'A' * 150}|sha256:{digest}"


class ActorRecordLike(InboxRecord):
    pass


# -- records under contention --------------------------------------------------------------------


class Contended(InMemoryCollectionStore[InboxRecord]):
    """An inbox store where another writer acts just before chosen calls, as a race lets it.

    ``before[operation]`` holds what the other writer does before each next call of that
    operation (``insert``, ``get``, ``update``, ``delete``), one action per call, in order;
    what the other writer does itself is neither counted nor interfered with.
    """

    def __init__(self) -> None:
        super().__init__(InboxRecord, name="Inbox")
        self.before: defaultdict[str, list[Callable[[], Awaitable[object]]]] = defaultdict(list)
        self.calls: Counter[str] = Counter()
        self._meddling = False

    async def _meddle(self, operation: str) -> None:
        if self._meddling:
            return
        self.calls[operation] += 1
        if self.before[operation]:
            self._meddling = True
            try:
                await self.before[operation].pop(0)()
            finally:
                self._meddling = False

    async def _insert(self, entity: InboxRecord) -> InboxRecord:
        await self._meddle("insert")
        return await super()._insert(entity)

    async def _get(self, id: str) -> InboxRecord:
        await self._meddle("get")
        return await super()._get(id)

    async def _update(self, entity: InboxRecord, etag: str | None) -> InboxRecord:
        await self._meddle("update")
        return await super()._update(entity, etag)

    async def _delete(self, id: str, etag: str | None) -> None:
        await self._meddle("delete")
        await super()._delete(id, etag)


async def nothing() -> None:
    return None


KEY = Inbox.key("A@X-Y", "e-1")


async def test_a_record_purged_between_the_conflict_and_the_read_is_inserted_again() -> None:
    store = Contended()
    inbox, other = Inbox(store), Inbox(store)
    await other.record("A@X-Y", "e-1", sent(1))
    store.before["get"] = [lambda: store.delete(KEY)]  # a purge, right after our insert failed

    assert await inbox.record("A@X-Y", "e-1", sent(2)) is None

    recorded = await inbox.recall("A@X-Y", "e-1")
    assert recorded is not None
    assert len(recorded.events) == 2, "ours went in"


async def test_a_record_stored_again_before_the_second_insert_is_the_one_returned() -> None:
    store = Contended()
    inbox, other = Inbox(store), Inbox(store)
    await other.record("A@X-Y", "e-1", sent(1))
    store.before["get"] = [lambda: store.delete(KEY)]
    store.before["insert"] = [nothing, lambda: other.record("A@X-Y", "e-1", sent(3))]

    first = await inbox.record("A@X-Y", "e-1", sent(2))

    assert first is not None
    assert len(first.events) == 3, "the other delivery's record: publish its events, not ours"


async def test_an_expired_record_rewritten_meanwhile_is_not_overwritten() -> None:
    clock = Clock()
    store = Contended()
    inbox = Inbox(store, retention=timedelta(minutes=1), clock=clock)
    other = Inbox(store, retention=timedelta(minutes=1), clock=clock)
    await other.record("A@X-Y", "e-1", sent(1))
    clock.now += timedelta(minutes=2)  # expired: the next delivery may overwrite it...
    store.before["update"] = [lambda: other.record("A@X-Y", "e-1", sent(3))]  # ...one does

    first = await inbox.record("A@X-Y", "e-1", sent(2))

    assert first is not None
    assert len(first.events) == 3
    recorded = await inbox.recall("A@X-Y", "e-1")
    assert recorded is not None
    assert len(recorded.events) == 3, "the other delivery's fresh record survives"


async def test_recording_gives_up_after_three_conflicts_and_says_so() -> None:
    store = Contended()
    inbox, other = Inbox(store), Inbox(store)
    await other.record("A@X-Y", "e-1", sent(1))
    store.calls.clear()
    store.before["get"] = [lambda: store.delete(KEY)] * 10  # gone each time we read it...
    store.before["insert"] = [nothing] + [lambda: other.record("A@X-Y", "e-1", [])] * 10  # back

    with pytest.raises(
        ConcurrencyConflictError,
        match=r"inbox record 'A@X-Y\|e-1' kept changing while A@X-Y tried to record it",
    ):
        await inbox.record("A@X-Y", "e-1", sent(2))

    assert store.calls["insert"] == 4, "the first insert, then three more attempts"


async def test_purging_goes_on_past_a_record_rewritten_meanwhile(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="beehive.inbox")
    clock = Clock()
    store = Contended()
    inbox = Inbox(store, retention=timedelta(minutes=1), clock=clock)
    for event_id in ("e-1", "e-2", "e-3"):
        await inbox.record("A@X-Y", event_id, [])
    clock.now += timedelta(minutes=2)
    store.before["delete"] = [lambda: inbox.record("A@X-Y", "e-1", sent(1))]  # fresh again

    assert await inbox.purge_expired() == 2

    assert [r.event_id async for r in store.list()] == ["e-1"]
    assert await inbox.recall("A@X-Y", "e-1") is not None
    assert [r.getMessage() for r in caplog.records] == ["inbox: purged 2 expired records"]
    assert await inbox.purge_expired() == 0
    assert len(caplog.records) == 1, "a purge that found nothing says nothing"


# -- the host -------------------------------------------------------------------------------------


class Echo:
    runs: Counter[str] = Counter()

    async def process(self, event: Event) -> list[Event]:
        Echo.runs[event.id] += 1
        return [Event(event_type="Echoed", body=event.body)]


def echo(**options: object) -> ActorDescriptor:
    Echo.runs = Counter()
    return ActorDescriptor(Echo, "Ping-Echo", emits=("Echoed",), **options)  # type: ignore[arg-type]


async def test_an_idempotent_actor_needs_an_inbox() -> None:
    @actor("Ping-Echo", idempotent=True)
    class Careful:
        async def process(self, event: Event) -> list[Event]:
            return []

    (descriptor,) = descriptors_of(Careful)
    assert descriptor.idempotent
    host = ActorHost(InMemoryQueueOperator(), [descriptor, echo()])

    with pytest.raises(ActorConfigurationError, match="Careful@Ping-Echo is idempotent"):
        await host.start()
    assert not host.running


async def test_a_redelivered_event_is_not_processed_again_and_its_events_go_out_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "beehive.host")  # a line per message
    ping = Event(event_type="Ping", body="1")
    faults = FaultyQueueOperator(RecordingQueueOperator(), duplicate_rate=1.0)
    async with ActorHost(faults, [echo(idempotent=True)], inbox=Inbox.in_memory()) as host:
        await faults.push(ping)
        await faults.wait_idle()  # its first completion is lost: delivered again
        await faults.push(ping)  # and another copy of the same event
        await faults.wait_idle()

    assert Echo.runs == {ping.id: 1}
    published = faults.inner.published  # type: ignore[attr-defined]
    first, *again = [e for e in published if e.event_type == "Echoed"]
    assert again == [first, first]  # re-sent by each redelivery: the same id, correlation and
    assert first.causation_id == ping.id  # causation, so downstream can filter them
    stats = host.stats()["Echo@Ping-Echo"]
    # The redelivery re-sent the recorded event; the copy (a first delivery) sent nothing.
    assert (stats.received, stats.succeeded, stats.duplicates) == (4, 1, 3)
    outcomes = [r.outcome for r in caplog.records if hasattr(r, "outcome")]  # type: ignore[attr-defined]
    assert outcomes == ["succeeded", "duplicate", "duplicate", "duplicate"]


async def test_one_read_and_one_write_per_message_and_none_for_other_actors() -> None:
    store = SpyStore()

    class Plain(Echo):
        pass

    descriptors = [echo(idempotent=True), ActorDescriptor(Plain, "Ping-Plain", emits=("Echoed",))]
    async with ActorHarness(descriptors, inbox=Inbox(store)) as hive:
        await hive.publish(*(Event(event_type="Ping", body=str(i)) for i in range(50)))
        await hive.wait_idle()

    assert store.calls == {"read": 50, "write": 50}
    assert hive.host.stats()["Plain@Ping-Plain"].succeeded == 50


async def test_an_unreachable_inbox_retries_the_message() -> None:
    store = SpyStore()
    store.fail_reads = 2
    async with ActorHarness(
        [echo(idempotent=True)], inbox=Inbox(store), raise_errors=False, backoff=FAST
    ) as hive:
        ping = Event(event_type="Ping")
        await hive.publish(ping)
        await hive.wait_idle()

    assert Echo.runs == {ping.id: 1}
    stats = hive.host.stats()["Echo@Ping-Echo"]
    assert (stats.retried, stats.succeeded) == (2, 1)


async def test_a_crash_between_recording_and_publishing_publishes_the_record_on_redelivery() -> (
    None
):
    store = SpyStore()
    store.crash_after_writes = 1
    async with ActorHarness(
        [echo(idempotent=True)], inbox=Inbox(store), raise_errors=False, backoff=FAST
    ) as hive:
        ping = Event(event_type="Ping")
        await hive.publish(ping)
        await hive.wait_idle()

    assert Echo.runs == {ping.id: 1}
    (echoed,) = hive.published("Echoed")
    recorded = await Inbox(store).recall("Echo@Ping-Echo", ping.id)
    assert recorded is not None
    assert recorded.events == [echoed]
    stats = hive.host.stats()["Echo@Ping-Echo"]
    assert (stats.retried, stats.duplicates, stats.succeeded) == (1, 1, 0)


async def test_the_host_purges_expired_records_while_it_runs() -> None:
    clock = Clock()
    inbox = Inbox.in_memory(
        retention=timedelta(minutes=1), purge_every=timedelta(milliseconds=10), clock=clock
    )
    async with ActorHarness([echo(idempotent=True)], inbox=inbox) as hive:
        await hive.publish(*(Event(event_type="Ping") for _ in range(5)))
        await hive.wait_idle()
        assert len([r async for r in inbox.store.list()]) == 5
        clock.now += timedelta(minutes=2)

        await until(lambda: _empty(inbox), timeout=5, what="the host to purge the expired records")


async def _empty(inbox: Inbox) -> bool:
    return not [r async for r in inbox.store.list()]


async def test_copies_of_one_event_in_one_host_run_the_actor_once() -> None:
    """Copies delivered together to several workers of one host: the later ones wait for the
    running one, then find its record."""
    runs: Counter[str] = Counter()

    class Slow:
        async def process(self, event: Event) -> list[Event]:
            runs[event.id] += 1
            await asyncio.sleep(0.05)  # long enough for the copy to arrive meanwhile
            return [Event(event_type="Echoed", body=event.body)]

    operator = RecordingQueueOperator()
    descriptor = ActorDescriptor(
        Slow, "Ping-Slow", parallelism=4, idempotent=True, emits=("Echoed",)
    )
    async with ActorHost(
        operator, [descriptor], inbox=Inbox.in_memory(), backoff=FAST, poll_wait=1
    ) as host:
        pings = [Event(event_type="Ping", body=str(n)) for n in range(10)]
        await operator.push_batch([copy for ping in pings for copy in (ping, ping)])
        await operator.wait_idle(10)

    assert host.stats()["Slow@Ping-Slow"].duplicates == 10
    assert runs == Counter({ping.id: 1 for ping in pings})


async def test_concurrent_deliveries_of_one_event_publish_one_set_of_events() -> None:
    """Given locks that expire mid-processing, two hosts may run the same event at once;
    then only the first to record publishes its events, and the other re-publishes them."""
    started: Counter[str] = Counter()
    both = asyncio.Event()

    class Slow:
        async def process(self, event: Event) -> list[Event]:
            started[event.id] += 1
            if started[event.id] == 2:
                both.set()
            await asyncio.wait_for(both.wait(), 5)
            return [Event(event_type="Echoed", body=event.body)]

    recording = RecordingQueueOperator()
    faults = FaultyQueueOperator(recording, seed=1, lease_expiry_rate=1.0)
    descriptor = ActorDescriptor(Slow, "Ping-Slow", idempotent=True, emits=("Echoed",))
    inbox = Inbox.in_memory()  # shared, as a store is by replicas
    hosts = [ActorHost(faults, [descriptor], inbox=inbox, backoff=FAST, poll_wait=1) for _ in "ab"]
    for host in hosts:
        await host.start()
    ping = Event(event_type="Ping")
    await faults.push(ping)
    await both.wait()
    faults.calm()
    await faults.wait_idle(5)
    for host in hosts:
        await host.stop()

    stats = [host.stats()["Slow@Ping-Slow"] for host in hosts]
    assert sum(s.lease_lost for s in stats) >= 1
    assert sum(s.succeeded + s.duplicates for s in stats) >= 1
    echoed = [e for e in recording.published if e.event_type == "Echoed"]
    assert started[ping.id] >= 2
    assert len(echoed) >= 2
    assert len({e.id for e in echoed}) == 1
