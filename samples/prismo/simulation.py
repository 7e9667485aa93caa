"""Prismo under simulation: its actors, a shop per seed, its orders, its invariants.

::

    report = prismo_simulation(Scenario(orders=20)).run(100)
    report.check()

Each run opens a fresh shop on in-memory stores put under the simulation, with the scenario's
customers, products, stock and orders (the scenario's seed replaced by the run's, so payments
and fraud verdicts vary by seed too), publishes one ``OrderAccepted`` per order, and checks
Prismo's invariants (:mod:`samples.prismo.invariants`), each on its own, once idle.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from beehive import ActorDescriptor, Event, discover
from beehive.stores import InMemoryCollectionStore, InMemoryCounterStore, InMemoryKeyedListStore
from beehive.testing import End, Run, Simulation
from beehive.testing.simulation import Invariant as SimulatedInvariant
from samples.prismo import catalogue
from samples.prismo.container import PrismoContainer, build_container
from samples.prismo.entities import OrderWaitingForProduct
from samples.prismo.events import OrderAccepted
from samples.prismo.invariants import INVARIANTS, Invariant
from samples.prismo.outcome import Outcome, collect
from samples.prismo.scenario import Scenario
from samples.prismo.stores import Stores

__all__ = ["ACTORS", "invariants", "prismo_simulation"]

ACTORS = "samples.prismo.actors"


def prismo_simulation(
    scenario: Scenario | None = None,
    *,
    actors: Sequence[ActorDescriptor] | None = None,
    **options: Any,
) -> Simulation[PrismoContainer]:
    """A simulation of Prismo's ``actors`` (all of them by default) on ``scenario``'s shop.

    ``options`` go to :class:`~beehive.testing.Simulation` (``faults``, delays...).
    """
    shop = scenario or Scenario(orders=20)
    descriptors = list(actors) if actors is not None else discover(ACTORS)
    sources = sorted({str(descriptor.source) for descriptor in descriptors})

    async def setup(run: Run) -> PrismoContainer:
        scenario = dataclasses.replace(shop, seed=run.seed)
        stores = Stores.build(
            lambda entity_type: run.store(InMemoryCollectionStore(entity_type)),
            run.store(InMemoryKeyedListStore(OrderWaitingForProduct)),
            run.store(InMemoryCounterStore()),
        )
        container = build_container(scenario, stores)
        for customer in catalogue.customers(scenario):
            await stores.customers.upsert(customer)
        products = catalogue.products(scenario)
        for product in products:
            await stores.products.upsert(product)
            await container.inventory().receive(product.id, scenario.stock_per_product)
        for order in catalogue.orders(scenario, products):
            await stores.orders.insert(order)
        return container

    def workload(container: PrismoContainer) -> list[Event]:
        return [
            Event(OrderAccepted(order_id=order_id), correlation_id=order_id)
            for order_id in map(catalogue.order_id, range(1, shop.orders + 1))
        ]

    return Simulation(
        descriptors,
        setup=setup,
        workload=workload,
        invariants=invariants(shop, sources),
        **options,
    )


def invariants(
    scenario: Scenario, sources: Sequence[str]
) -> list[SimulatedInvariant[PrismoContainer]]:
    """Prismo's invariants as checks of a run's end, each under its own name."""
    outcomes: WeakKeyDictionary[End[PrismoContainer], Outcome] = WeakKeyDictionary()
    initial = {product.id: scenario.stock_per_product for product in catalogue.products(scenario)}

    async def outcome_of(end: End[PrismoContainer]) -> Outcome:
        if end not in outcomes:
            container = end.container
            stores = Stores(
                **{
                    field.name: getattr(container, field.name)()
                    for field in dataclasses.fields(Stores)
                }
            )
            outcomes[end] = await collect(container, stores, end.operator, list(sources), initial)
        return outcomes[end]

    def checking(invariant: Invariant) -> SimulatedInvariant[PrismoContainer]:
        async def check(end: End[PrismoContainer]) -> Iterable[str]:
            return list(invariant(await outcome_of(end)))

        check.__name__ = check.__qualname__ = invariant.__name__
        return check

    return [checking(invariant) for invariant in INVARIANTS]
