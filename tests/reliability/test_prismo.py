"""Prismo with every actor idempotent and every message delivered twice: its invariants hold.

The sample's own actors are written to tolerate redelivery; here the host's inbox does it for
them as well, and what a run ends with (orders settled, stock conserved, one email per
shipment...) is what Prismo's invariants demand.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from beehive import ActorHost, Event, discover
from beehive.inbox import Inbox
from beehive.testing import FaultyQueueOperator
from tests.reliability.support import FAST

prismo = pytest.importorskip("samples.prismo.run")
from samples.prismo.backends import memory  # noqa: E402
from samples.prismo.container import build_container  # noqa: E402
from samples.prismo.invariants import violations  # noqa: E402
from samples.prismo.outcome import collect  # noqa: E402
from samples.prismo.scenario import Scenario  # noqa: E402


async def test_prismo_invariants_hold_with_inboxes_and_every_message_duplicated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = Scenario(orders=60, seed=3, supplier_delay=0.001)
    backend = memory(scenario)
    container = build_container(scenario, backend.stores)
    descriptors = [dataclasses.replace(d, idempotent=True) for d in discover(prismo.ACTORS)]
    faults = FaultyQueueOperator(backend.operator, seed=3, duplicate_rate=1.0)
    runs: Counter[tuple[str, str]] = Counter()
    for actor_type in {descriptor.actor_type for descriptor in descriptors}:
        monkeypatch.setattr(actor_type, "process", _counting(actor_type.process, runs))
    host = ActorHost(
        faults, descriptors, container=container, inbox=Inbox.in_memory(), backoff=FAST
    )

    initial_stock = await prismo.stock_the_shop(scenario, backend, container)
    async with host:
        await prismo.place_orders(scenario, backend)
        await backend.wait_idle(120)
    sources = [descriptor.source for descriptor in descriptors]
    outcome = await collect(container, backend.stores, backend.operator, sources, initial_stock)

    assert list(violations(outcome)) == []
    assert faults.injected["duplicate"] > 0
    stats = host.stats()
    assert sum(s.duplicates for s in stats.values()) >= sum(s.succeeded for s in stats.values())
    assert all(s.dead_lettered == 0 for s in stats.values())
    # Even copies of one event in flight at the same time, on different workers of one host,
    # run the actor once: the later copy waits for the running one, then finds its record.
    assert runs, "the actors ran"
    assert all(n == 1 for n in runs.values()), "an actor ran twice on one event"


def _counting(
    process: Callable[..., Awaitable[list[Event]]], runs: Counter[tuple[str, str]]
) -> Any:
    """``process``, counting its successful runs per (actor class, event id).

    A run that raises (``Retry`` included: some of Prismo's actors wait that way) is a retry,
    which the inbox does not prevent; what it prevents is a second *successful* run.
    """

    async def counted(self: object, event: Event) -> list[Event]:
        outgoing = await process(self, event)
        runs[type(self).__name__, event.id] += 1
        return outgoing

    return counted
