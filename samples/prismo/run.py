"""One Prismo run: stock the shop, place the orders, let the actors work until idle, check.

::

    summary = await run(Scenario(orders=1000, seed=7))
    print(summary.render())
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import TextIO

from beehive import ActorHost, Backoff, Event, discover
from samples.prismo import catalogue
from samples.prismo.backends import Backend, open_backend
from samples.prismo.container import PrismoContainer, build_container
from samples.prismo.events import OrderAccepted
from samples.prismo.idle import unsettled, wait_until_over
from samples.prismo.invariants import violations
from samples.prismo.outcome import collect
from samples.prismo.progress import Progress
from samples.prismo.scenario import Scenario
from samples.prismo.summary import Summary, summarise

logger = logging.getLogger("samples.prismo")

ACTORS = "samples.prismo.actors"
RETRIES = Backoff(initial=0.05, factor=2.0, maximum=1.0, jitter=0.2)
"""Nothing in the sample fails on purpose; if something does, retry soon."""


async def stock_the_shop(
    scenario: Scenario, backend: Backend, container: PrismoContainer
) -> dict[str, int]:
    """Seed customers, products and stock; returns the initial stock per product."""
    stores = backend.stores
    for customer in catalogue.customers(scenario):
        await stores.customers.upsert(customer)
    initial: dict[str, int] = {}
    for product in catalogue.products(scenario):
        await stores.products.upsert(product)
        await container.inventory().receive(product.id, scenario.stock_per_product)
        initial[product.id] = scenario.stock_per_product
    return initial


async def place_orders(scenario: Scenario, backend: Backend) -> None:
    """Record every order, then publish ``OrderAccepted`` for each (correlated by order id)."""
    products = [product async for product in backend.stores.products.list()]
    products.sort(key=lambda product: product.id)
    orders = catalogue.orders(scenario, products)
    for order in orders:
        await backend.stores.orders.insert(order)
    accepted = [
        Event(OrderAccepted(order_id=order.id), correlation_id=order.id) for order in orders
    ]
    await backend.operator.push_batch(accepted)


async def run(
    scenario: Scenario,
    *,
    broker: str = "memory",
    stores: str = "memory",
    timeout: float | None = 600.0,
    progress: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> Summary:
    """Run ``scenario`` until every message is handled (or ``timeout``), then summarise.

    ``broker`` and ``stores`` name entries of ``BROKERS`` and ``STORES``, configured from
    ``environ`` (default: ``os.environ``). Raises ``BackendUnavailable`` when one cannot run
    here. The stores are always fresh ones (in memory, or tables of this run's own), so what a
    durable broker kept from an earlier run is cleared first.
    """
    chosen = open_backend(broker, stores, os.environ if environ is None else environ)
    try:
        return await _run(scenario, chosen, timeout, progress)
    finally:
        await chosen.close()


async def _run(
    scenario: Scenario, chosen: Backend, timeout: float | None, progress: TextIO | None
) -> Summary:
    container = build_container(scenario, chosen.stores)
    descriptors = discover(ACTORS)
    sources = sorted({descriptor.source for descriptor in descriptors})
    if chosen.broker.clear is not None:
        await chosen.broker.clear(sources)
    host = ActorHost(
        chosen.operator, descriptors, container=container, backoff=RETRIES, poll_wait=1.0
    )
    initial_stock = await stock_the_shop(scenario, chosen, container)
    started, cpu = time.perf_counter(), time.process_time()
    async with host, Progress(host, scenario.orders, progress):
        await place_orders(scenario, chosen)
        try:
            await wait_until_done(chosen, host, timeout)
        except TimeoutError:
            logger.error("not idle after %s s; summarising what was done", timeout)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    outcome = await collect(container, chosen.stores, chosen.operator, sources, initial_stock)
    return summarise(
        scenario, chosen.description, outcome, host.stats(), seconds, violations(outcome), cpu
    )


async def wait_until_done(backend: Backend, host: ActorHost, timeout: float | None) -> None:
    """Until every message is handled: exactly when the broker can tell, else by the stores,
    the host and the broker's counts together (see :mod:`samples.prismo.idle`)."""
    if backend.broker.wait_idle is not None:
        await backend.wait_idle(timeout)
        return

    async def settled() -> bool:
        return not await unsettled(backend.stores)

    await wait_until_over(
        host, settled=settled, ready=backend.broker.ready, backoff=RETRIES, timeout=timeout
    )
