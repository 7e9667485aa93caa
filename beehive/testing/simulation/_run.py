"""One seeded run: a fresh world, the actors on a simulated broker and stores, in virtual time,
until idle; then the invariants.

Everything that varies between runs comes from the seed: the delays that order deliveries,
the latency of each store call, every fault, event ids, and Python's global ``random`` (which
the host's backoff jitter and the stores' retries use). Each run has an event loop of its own
whose clock starts at 0, so timers are the same floats in every replay.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from beehive import _ids
from beehive.actors import ActorDescriptor
from beehive.claims import Claims
from beehive.events import Event
from beehive.host import ActorHost
from beehive.inbox import Inbox, InboxRecord
from beehive.journal import Journal
from beehive.stores.base import (
    CollectionStore,
    CounterStore,
    KeyedListStore,
    KeyValueStore,
    LockStore,
)
from beehive.stores.memory import InMemoryCollectionStore, InMemoryLockStore
from beehive.testing._clock import VirtualClock
from beehive.testing.simulation._broker import DelayingBroker, PlannedFaults
from beehive.testing.simulation._context import DerivedIds
from beehive.testing.simulation._end import End, Invariant, Violation, check
from beehive.testing.simulation._faults import Chance, Fault, Faults, Plan
from beehive.testing.simulation._journeys import journeys
from beehive.testing.simulation._middleware import Chaos
from beehive.testing.simulation._stores import StoreCalls, simulated

__all__ = ["Run", "RunResult", "Spec", "run_one"]

C = TypeVar("C")
Store = TypeVar(
    "Store", CollectionStore[Any], KeyedListStore[Any], CounterStore, KeyValueStore, LockStore
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""Where every run's simulated wall clock starts (timestamps are the same in every replay)."""


class Run:
    """What a simulation gives ``setup`` for one run: its seed, a generator seeded by it, and
    :meth:`store`, which puts a store under the simulation (latency, failures, crashes)."""

    def __init__(self, seed: int, calls: StoreCalls) -> None:
        self.seed = seed
        self.random = random.Random(f"world/{seed}")
        self._calls = calls

    def store(self, store: Store) -> Store:
        """``store`` as the actors must see it in a simulation: a store of the same contract
        whose calls, inside a message's handling, wait, fail and crash as the seed says."""
        return simulated(store, self._calls)


@dataclass(frozen=True, slots=True)
class RunResult:
    """How one run went: what broke, which faults it injected, and its fingerprint.

    ``fingerprint`` digests how every message ended (when, which actor, which event and
    delivery, which outcome): two runs with the same fingerprint took the same path.
    ``journeys`` is the journal's view of the correlations the problems name (when there are
    problems).
    """

    seed: int
    violations: tuple[Violation, ...]
    faults: tuple[Fault, ...]
    fingerprint: str
    messages: int
    elapsed: timedelta
    journeys: str

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def broken(self) -> list[str]:
        """The invariants that broke, in the order they were checked."""
        return list(dict.fromkeys(v.invariant for v in self.violations))


@dataclass(frozen=True, slots=True)
class Spec(Generic[C]):
    """Everything a run needs, as :class:`~beehive.testing.Simulation` was given it."""

    actors: Sequence[ActorDescriptor]
    setup: Callable[[Run], C | Awaitable[C]]
    workload: Callable[[C], Iterable[Event] | Awaitable[Iterable[Event]]]
    invariants: Sequence[Invariant[C]]
    faults: Faults
    max_delivery_delay: float
    max_store_latency: float
    idle_timeout: float
    log: bool


def run_one(spec: Spec[C], seed: int, only: frozenset[Fault] | None = None) -> RunResult:
    """Run ``seed`` on an event loop of its own (``only``: inject exactly these faults)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass  # no loop running here: the run gets one of its own
    else:
        raise RuntimeError(
            "a simulation runs each seed on an event loop of its own: call it from plain code "
            "(a 'def' test, not an 'async def' one)"
        )
    saved_random, saved_ids = random.getstate(), _ids.current()
    logger = logging.getLogger("beehive")
    saved_level = logger.level
    random.seed(seed)
    _ids.use(DerivedIds(seed))
    if not spec.log:
        logger.setLevel(logging.CRITICAL + 1)  # injected faults make the host loud
    loop = asyncio.new_event_loop()
    loop.time = lambda: 0.0  # type: ignore[method-assign]  # the virtual clock starts here
    try:
        return loop.run_until_complete(_run(spec, seed, only))
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            logger.setLevel(saved_level)
            _ids.use(saved_ids)
            random.setstate(saved_random)


async def _run(spec: Spec[C], seed: int, only: frozenset[Fault] | None) -> RunResult:
    chance = Chance(seed)
    plan = Plan(chance, spec.faults, only)
    async with VirtualClock(start=EPOCH) as clock:
        broker = DelayingBroker(chance, plan.names, spec.max_delivery_delay)
        operator = PlannedFaults(broker, plan)
        calls = StoreCalls(plan, spec.max_store_latency)
        container = await _maybe(spec.setup(Run(seed, calls)))
        chaos = Chaos(plan)
        journal = Journal.in_memory(purge_every=None, flush_every=3600.0)
        inbox = _inbox(spec.actors, calls)
        host = ActorHost(
            operator,
            spec.actors,
            container=container,
            poll_wait=3600.0,
            middleware=[chaos],
            journal=journal,
            inbox=inbox,
        )
        violations: list[Violation] = []
        await host.start()
        try:
            await operator.push_batch(list(await _maybe(spec.workload(container))))
            try:
                await operator.wait_idle(spec.idle_timeout)
            except TimeoutError:
                violations.append(
                    Violation(
                        "idle",
                        f"not idle after {timedelta(seconds=spec.idle_timeout)} of simulated "
                        f"time: {broker.pending} messages still ready, scheduled or leased",
                    )
                )
            else:
                violations += await check(spec.invariants, End(seed, container, broker))
            # What stopping abandons (a run that never went idle) is left out: a stop cancels
            # in no particular order.
            settled = list(chaos.settlements)
            told = (
                await journeys(journal, settled, violations, plan.injected, EPOCH)
                if violations
                else ""
            )
        finally:
            await host.stop(grace=1.0)
            await operator.close()
        digest = hashlib.blake2b(repr(settled).encode(), digest_size=16).hexdigest()
        return RunResult(
            seed=seed,
            violations=tuple(violations),
            faults=tuple(plan.injected),
            fingerprint=digest,
            messages=len(settled),
            elapsed=clock.elapsed,
            journeys=told,
        )


def _inbox(actors: Sequence[ActorDescriptor], calls: StoreCalls) -> Inbox | None:
    """For idempotent actors, an inbox whose store (and claims, for exclusive ones) the
    simulation runs like the actors' own."""
    if not any(descriptor.idempotent for descriptor in actors):
        return None
    claims = None
    if any(descriptor.exclusive for descriptor in actors):
        claims = Claims(simulated(InMemoryLockStore(), calls))
    store = simulated(InMemoryCollectionStore(InboxRecord, name="Inbox"), calls)
    return Inbox(store, purge_every=None, claims=claims)


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
