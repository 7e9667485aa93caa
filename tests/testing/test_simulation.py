"""Simulation testing: seeded runs, every fault, invariants, replay and shrinking.

Two small networks: a ``Job -> Work -> Done -> Tally`` chain written to survive every fault
(work recorded by key, tallies as sets), and a shop that charges a card gateway before it
records the payment, which a retry makes charge twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from dependency_injector import containers, providers
from pydantic import BaseModel

from beehive import Event, Retry, _ids, actor, discover, republish
from beehive.stores import (
    CollectionStore,
    CounterStore,
    InMemoryCollectionStore,
    InMemoryCounterStore,
    InMemoryKeyedListStore,
    InMemoryKeyValueStore,
    KeyAlreadyExistsError,
    KeyedListStore,
    KeyValueStore,
    NotFoundError,
)
from beehive.testing import End, Fault, Faults, Run, Simulation, SimulationFailed
from beehive.testing.simulation import FaultKind
from beehive.testing.simulation._faults import KINDS

ROOT = Path(__file__).resolve().parents[2]

# -- a chain that survives everything -------------------------------------------------------


class Job(BaseModel):
    key: str


class Done(BaseModel):
    key: str


class Work(BaseModel):
    id: str


class Tally(BaseModel):
    id: str
    keys: list[str] = []
    etag: str | None = None
    last_modified: datetime | None = None


@actor("Job-Work", parallelism=3, emits=[Done])
class WorkActor:
    def __init__(self, works: CollectionStore[Work]) -> None:
        self.works = works

    async def process(self, event: Event) -> list[Event]:
        key = event.body_as(Job).key
        done = [Event(Done(key=key))]
        try:
            await self.works.insert(Work(id=key))
        except KeyAlreadyExistsError:
            return republish(event, done)
        return done


@actor("Done-Tally", parallelism=3)
class TallyActor:
    def __init__(self, tallies: CollectionStore[Tally]) -> None:
        self.tallies = tallies

    async def process(self, event: Event) -> list[Event]:
        key = event.body_as(Done).key

        def count(tally: Tally) -> Tally:
            return (
                tally
                if key in tally.keys
                else tally.model_copy(update={"keys": [*tally.keys, key]})
            )

        await self.tallies.modify("all", count, default=lambda: Tally(id="all"))
        return []


class Chain(containers.DeclarativeContainer):
    works = providers.Dependency(instance_of=CollectionStore)
    tallies = providers.Dependency(instance_of=CollectionStore)


def chain(run: Run) -> Chain:
    return Chain(
        works=run.store(InMemoryCollectionStore(Work)),
        tallies=run.store(InMemoryCollectionStore(Tally)),
    )


def jobs(chain: Chain) -> list[Event]:
    return [Event(Job(key=f"job-{n}")) for n in range(6)]


async def every_job_tallied_once(end: End[Chain]) -> AsyncIterator[str]:
    try:
        tally = await end.container.tallies().get("all")
    except NotFoundError:
        yield "nothing was tallied"
        return
    if sorted(tally.keys) != [f"job-{n}" for n in range(6)]:
        yield f"tallied {sorted(tally.keys)}"


def nothing_dead_lettered(end: End[Chain]) -> list[str]:
    return [f"dead letter: {e.event_type} {e.id}" for e in end.dead_letters()]


def chain_simulation(faults: Faults | None = None, **options: object) -> Simulation[Chain]:
    return Simulation(
        discover(WorkActor, TallyActor),
        setup=chain,
        workload=jobs,
        invariants=[every_job_tallied_once, nothing_dead_lettered],
        faults=faults,
        **options,  # type: ignore[arg-type]
    )


EVERYTHING = Faults(
    abandon=0.1,
    lease_expiry=0.1,
    duplicate=0.1,
    crash=0.1,
    store_crash=0.1,
    store_failure=0.1,
    publish_failure=0.1,
)


def test_a_network_that_survives_every_fault_passes_and_every_fault_was_tried() -> None:
    report = chain_simulation(EVERYTHING).run(30)

    report.check()
    assert report.runs == 30
    assert set(report.injected) == set(KINDS)
    assert "30 runs" in report.summary()


def test_a_seed_replays_to_the_same_messages_and_faults() -> None:
    simulation = chain_simulation(EVERYTHING)
    first = simulation.replay(7)
    again = simulation.replay(7)

    assert again.fingerprint == first.fingerprint
    assert again.faults == first.faults
    assert again.messages == first.messages > 12
    assert again.elapsed == first.elapsed


def test_a_seed_replays_the_same_in_another_process_with_other_string_hashes() -> None:
    script = (
        "from tests.testing.test_simulation import EVERYTHING, chain_simulation; "
        "s = chain_simulation(EVERYTHING); "
        "print(*(s.replay(seed).fingerprint for seed in range(3)))"
    )
    simulation = chain_simulation(EVERYTHING)
    here = " ".join(simulation.replay(seed).fingerprint for seed in range(3))
    for hash_seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        assert done.stdout.strip() == here


def test_seeds_take_different_paths() -> None:
    simulation = chain_simulation(Faults.none())
    fingerprints = {simulation.replay(seed).fingerprint for seed in range(8)}
    assert len(fingerprints) == 8


def test_a_run_restores_event_ids_and_the_global_random() -> None:
    random.seed(99)
    expected = random.random()
    random.seed(99)
    ids: list[str] = []

    def remember(end: End[Chain]) -> None:
        ids.extend(event.id for event in end.published())

    simulation = Simulation(
        discover(WorkActor, TallyActor), setup=chain, workload=jobs, invariants=[remember]
    )
    simulation.replay(3)
    first = list(ids)
    ids.clear()
    simulation.replay(3)

    assert ids == first, "event ids are seeded: the same in every replay"
    assert len(set(first)) == len(first) == 12
    assert _ids.current() is None
    assert random.random() == expected


def test_store_calls_outside_a_handling_never_fail() -> None:
    # Every store call of the first three deliveries fails; setup and invariants, outside any
    # handling, still read and write, and every message gets through at its fourth delivery.
    always = Faults(
        abandon=0.0,
        lease_expiry=0.0,
        duplicate=0.0,
        crash=0.0,
        store_crash=0.0,
        store_failure=1.0,
        publish_failure=0.0,
    )
    report = chain_simulation(always).run(2)
    report.check()
    assert report.injected["store_failure"] >= 2 * 6 * 3


# -- a shop that charges twice --------------------------------------------------------------


class OrderPlaced(BaseModel):
    order_id: str
    amount: int


class OrderPaid(BaseModel):
    order_id: str


class Payment(BaseModel):
    id: str
    reference: str


@dataclass
class Gateway:
    """A card processor: it keeps every charge it made."""

    charges: list[str] = field(default_factory=list)

    async def charge(self, order_id: str, amount: int) -> str:
        self.charges.append(order_id)
        return f"ch-{len(self.charges)}"


@actor("OrderPlaced-Payment", parallelism=2, emits=[OrderPaid])
class PaymentActor:
    def __init__(self, payments: CollectionStore[Payment], gateway: Gateway) -> None:
        self.payments = payments
        self.gateway = gateway

    async def process(self, event: Event) -> list[Event]:
        placed = event.body_as(OrderPlaced)
        if await self.payments.exists(placed.order_id):
            return republish(event, [Event(OrderPaid(order_id=placed.order_id))])
        reference = await self.gateway.charge(placed.order_id, placed.amount)
        await self.payments.insert(Payment(id=placed.order_id, reference=reference))
        return [Event(OrderPaid(order_id=placed.order_id))]


class Shop(containers.DeclarativeContainer):
    payments = providers.Dependency(instance_of=CollectionStore)
    gateway = providers.Singleton(Gateway)


def shop(run: Run) -> Shop:
    return Shop(payments=run.store(InMemoryCollectionStore(Payment)))


def orders(shop: Shop) -> list[Event]:
    return [Event(OrderPlaced(order_id=f"o-{n}", amount=10)) for n in range(8)]


def charged_once(end: End[Shop]) -> Iterator[str]:
    for order_id, times in sorted(Counter(end.container.gateway().charges).items()):
        if times != 1:
            yield f"{order_id} was charged {times} times"


def shop_simulation(**options: object) -> Simulation[Shop]:
    return Simulation(
        discover(PaymentActor),
        setup=shop,
        workload=orders,
        invariants=[charged_once],
        **options,  # type: ignore[arg-type]
    )


ONE_FAULT_KINDS: set[FaultKind] = {"store_failure", "lease_expiry", "crash_after_store_write"}


def test_a_charge_repeated_by_a_retry_is_found_shrunk_to_one_fault_and_replayed() -> None:
    simulation = shop_simulation(faults=EVERYTHING)
    report = simulation.run(20)

    assert not report.ok
    failure = report.failures[0]
    assert failure.invariant == "charged_once"
    assert len(failure.found.faults) > 1
    assert len(failure.faults) == 1, failure
    assert failure.faults[0].kind in ONE_FAULT_KINDS
    assert "was charged 2 times" in failure.problems[0]
    replayed = simulation.replay(failure.seed, failure.faults)
    assert replayed.fingerprint == failure.run.fingerprint
    assert replayed.violations == failure.run.violations
    assert simulation.replay(failure.seed).fingerprint == failure.found.fingerprint
    with pytest.raises(SimulationFailed, match=f"seed {failure.seed} broke charged_once"):
        report.check()


def test_a_failure_reads_as_seed_invariant_faults_journey_and_replay() -> None:
    failure = shop_simulation(faults=EVERYTHING).run(20).failures[0]
    text = str(failure)
    fault = failure.faults[0]

    assert text.startswith(f"seed {failure.seed} broke charged_once:\n  o-")
    assert f"with 1 fault, shrunk from {len(failure.found.faults)}" in text
    assert fault.describe() in text
    assert f"journey of {fault.event_id} (" in text  # the faulted event's own correlation
    assert "PaymentActor@OrderPlaced-Payment  OrderPlaced" in text
    assert f"<- {fault.kind.replace('_', ' ')}" in text
    assert f"replay: simulation.replay({failure.seed}, faults=[{fault!r}])" in text
    assert eval(repr(fault)) == fault  # a pasted fault replays the same run


def test_the_order_of_deliveries_alone_can_break_an_invariant() -> None:
    # Two copies of an order placed at once race between the check and the insert.
    def twice(shop: Shop) -> list[Event]:
        placed = OrderPlaced(order_id="o-1", amount=10)
        return [Event(placed), Event(placed)]

    simulation = Simulation(
        discover(PaymentActor),
        setup=shop,
        workload=twice,
        invariants=[charged_once],
        faults=Faults.none(),
    )
    failure = simulation.run(50, max_failures=1).failures[0]
    assert failure.faults == ()
    assert "the order of deliveries and store calls alone breaks it" in str(failure)
    assert "no journey to show: the problems name no correlation" in str(failure)


def test_a_journey_is_shown_for_a_correlation_named_as_a_whole_word() -> None:
    def ten_orders(shop: Shop) -> list[Event]:
        return [
            Event(OrderPlaced(order_id=f"o-{n}", amount=10), correlation_id=f"o-{n}")
            for n in range(1, 11)
        ]

    def o10_unpaid(end: End[Shop]) -> list[str]:
        return ["o-10 is not paid (made up, to name it)"]

    simulation = Simulation(
        discover(PaymentActor),
        setup=shop,
        workload=ten_orders,
        invariants=[o10_unpaid],
        faults=Faults.none(),
    )
    told = simulation.replay(1).journeys
    assert told.startswith("journey of o-10 (1 message handled):")
    assert "journey of o-1 " not in told


def test_a_run_stops_after_max_failures_and_runs_every_seed_without_a_limit() -> None:
    simulation = shop_simulation(faults=EVERYTHING, shrink_budget=0)
    first = simulation.run(range(10), max_failures=1)
    every = simulation.run(range(10), max_failures=None)

    assert len(first.failures) == 1
    assert first.runs == first.seeds.index(first.failures[0].seed) + 1
    assert every.runs == 10
    assert len(every.failures) > 1


# -- sessions, invariants, limits ---------------------------------------------------------


class Step(BaseModel):
    n: int


@dataclass
class Sessions:
    by_session: dict[str, list[int]] = field(default_factory=dict)


class Seen(containers.DeclarativeContainer):
    seen = providers.Singleton(Sessions)


@actor("Step-Follow", parallelism=4, sessions=True)
class FollowActor:
    def __init__(self, seen: Sessions) -> None:
        self.seen = seen

    async def process(self, event: Event) -> list[Event]:
        self.seen.by_session.setdefault(event.session_id or "", []).append(event.body_as(Step).n)
        return []


def test_a_session_keeps_its_order_while_sessions_interleave() -> None:
    def steps(seen: Seen) -> list[Event]:
        return [
            Event(Step(n=n), session_id=session) for n in range(6) for session in ("a", "b", "c")
        ]

    orders: set[tuple[str, ...]] = set()

    def in_order(end: End[Seen]) -> Iterator[str]:
        for session, seen in end.container.seen().by_session.items():
            # A crash makes a step come again, never an earlier one after a later one.
            if sorted(set(seen)) != list(range(6)) or seen != sorted(seen):
                yield f"session {session} saw {seen}"
        orders.add(tuple(event.session_id or "" for event in end.published()))

    def sessions_first(end: End[Seen]) -> None:
        firsts = [seen[0] for seen in end.container.seen().by_session.values()]
        assert firsts == [0, 0, 0]

    simulation = Simulation(
        discover(FollowActor),
        setup=lambda run: Seen(),
        workload=steps,
        invariants=[in_order, sessions_first],
        faults=Faults(
            abandon=0.2,
            lease_expiry=0.0,
            duplicate=0.0,
            crash=0.2,
            store_crash=0.0,
            store_failure=0.0,
            publish_failure=0.0,
        ),
    )
    report = simulation.run(10)
    report.check()
    assert report.injected["abandon"] > 0
    assert report.injected["crash_before_complete"] > 0


def test_invariants_report_in_every_form() -> None:
    def returns_problems(end: End[Chain]) -> list[str]:
        return ["a listed problem"]

    def returns_text(end: End[Chain]) -> str:
        return "a problem on its own"

    def returns_false(end: End[Chain]) -> bool:
        return False

    def asserts(end: End[Chain]) -> None:
        assert end.published(Done) == [], "Done was published"

    async def awaits(end: End[Chain]) -> list[str]:
        await asyncio.sleep(0)
        return []

    def raises(end: End[Chain]) -> None:
        raise KeyError("tally")

    simulation = Simulation(
        discover(WorkActor, TallyActor),
        setup=chain,
        workload=jobs,
        invariants=[returns_problems, returns_text, returns_false, asserts, awaits, raises],
        faults=Faults.none(),
    )
    result = simulation.replay(1)

    assert [(v.invariant, v.problem.splitlines()[0]) for v in result.violations] == [
        ("returns_problems", "a listed problem"),
        ("returns_text", "a problem on its own"),
        ("returns_false", "it returned False"),
        ("asserts", "Done was published"),
        ("raises", "the invariant raised KeyError: 'tally'"),
    ]


def test_a_network_that_never_goes_idle_fails_the_idle_check() -> None:
    @actor("Job-Again", max_deliveries=1000)
    class Again:
        async def process(self, event: Event) -> list[Event]:
            raise Retry("not yet", delay=60)

    simulation = Simulation(
        discover(Again),
        setup=chain,
        workload=jobs,
        invariants=[nothing_dead_lettered],
        faults=Faults.none(),
        idle_timeout=600,
    )
    result = simulation.replay(1)
    assert result.broken == ["idle"]
    assert simulation.replay(1).fingerprint == result.fingerprint
    assert result.violations[0].problem.startswith("not idle after 0:10:00 of simulated time: 6")


async def test_an_async_caller_is_told_to_call_from_plain_code() -> None:
    with pytest.raises(RuntimeError, match="'def' test, not an 'async def' one"):
        chain_simulation().replay(1)


def test_bad_settings_are_refused_with_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="crash is a probability between 0 and 1, got 2"):
        Faults(crash=2)
    with pytest.raises(ValueError, match="needs invariants"):
        Simulation(discover(WorkActor), setup=chain, workload=jobs, invariants=[])
    with pytest.raises(ValueError, match="cannot be negative"):
        chain_simulation(max_delivery_delay=-1)
    with pytest.raises(TypeError, match="not dict"):
        Run(1, None).store({})  # type: ignore[arg-type, type-var]
    simulation = chain_simulation(Faults.none())
    passed = simulation.replay(1)
    with pytest.raises(ValueError, match="broke no invariant"):
        simulation.shrink(passed)


def test_faults_print_as_the_code_that_builds_them() -> None:
    fault = Fault("store_failure", "Job-Work", "Job 1", 2, "Work.insert #1", event_id="ab12")
    assert repr(fault) == "Fault('store_failure', 'Job-Work', 'Job 1', 2, 'Work.insert #1')"
    assert fault == Fault("store_failure", "Job-Work", "Job 1", 2, "Work.insert #1")
    assert fault.describe() == "store failure (Work.insert #1): Job-Work, Job 1 (ab12), delivery 2"


# -- every kind of store, and exclusive actors ------------------------------------------------


class Filed(BaseModel):
    key: str


class Entry(BaseModel):
    id: str


@actor("Job-File", parallelism=3, emits=[Filed], idempotent=True, exclusive=True)
class FileActor:
    def __init__(self, blobs: KeyValueStore) -> None:
        self.blobs = blobs

    async def process(self, event: Event) -> list[Event]:
        key = event.body_as(Job).key
        await self.blobs.put(key, key.encode())
        return [Event(Filed(key=key))]


@actor("Filed-Index", parallelism=3)
class IndexActor:
    def __init__(self, index: KeyedListStore[Entry], counts: CounterStore) -> None:
        self.index = index
        self.counts = counts

    async def process(self, event: Event) -> list[Event]:
        key = event.body_as(Filed).key
        await self.counts.increment("filed", "all")  # at least once per key, maybe more
        with contextlib.suppress(KeyAlreadyExistsError):
            await self.index.add("Filed", "all", Entry(id=key))
        return []


class Files(containers.DeclarativeContainer):
    blobs = providers.Dependency(instance_of=KeyValueStore)
    index = providers.Dependency(instance_of=KeyedListStore)
    counts = providers.Dependency(instance_of=CounterStore)


async def every_job_filed_and_indexed(end: End[Files]) -> AsyncIterator[str]:
    for n in range(6):
        key = f"job-{n}"
        if not await end.container.blobs().exists(key):
            yield f"{key} was never filed"
        if not await end.container.index().item_exists("Filed", "all", key):
            yield f"{key} was never indexed"
    if await end.container.counts().get("filed", "all") < 6:
        yield "fewer counted than indexed"


def test_key_value_keyed_list_counter_and_lock_stores_all_run_under_the_simulation() -> None:
    def files(run: Run) -> Files:
        return Files(
            blobs=run.store(InMemoryKeyValueStore()),
            index=run.store(InMemoryKeyedListStore(Entry)),
            counts=run.store(InMemoryCounterStore()),
        )

    simulation = Simulation(
        discover(FileActor, IndexActor),
        setup=files,
        workload=lambda files: [Event(Job(key=f"job-{n}")) for n in range(6)],
        invariants=[every_job_filed_and_indexed, nothing_dead_lettered],
        faults=EVERYTHING,
    )
    report = simulation.run(15)

    report.check()
    calls = {
        fault.detail.partition(" #")[0]
        for seed in range(15)
        for fault in simulation.replay(seed).faults
        if fault.detail
    }
    assert {"blob.put", "Filed.add", "filed.increment", "lock.acquire"} <= calls
