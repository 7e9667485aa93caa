"""``--publish-only``: drive a deployed Prismo from outside, then watch its stores.

The actors run elsewhere (``beehive run samples.prismo.actors --container
samples.prismo.container:deployed``). This seeds the stores that host shares, publishes the
orders to the broker it consumes, then reads the stores until every order is settled and says
what became of them. Only the stores can be seen from here: the invariants that need the
simulated outside world's records (emails sent, refunds made, units delivered) are checked by
runs in one process (``python -m samples.prismo``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beehive.names import QueueName
from samples.prismo.azure_storage import STORAGE_TABLE_PREFIX, AzureAccount
from samples.prismo.backends import Backend
from samples.prismo.brokers import BROKERS, BackendUnavailable
from samples.prismo.container import build_container
from samples.prismo.events import OrderAccepted
from samples.prismo.idle import unsettled
from samples.prismo.postgres_storage import POSTGRES_SCHEMA, PostgresDatabase
from samples.prismo.run import place_orders, stock_the_shop
from samples.prismo.scenario import Scenario
from samples.prismo.stores import Stores

logger = logging.getLogger("samples.prismo.publish")

POLL = 1.0
"""Seconds between two readings of the stores."""


@dataclass(frozen=True, slots=True)
class Watched:
    """What the stores showed of the published orders when every one settled, or at timeout."""

    scenario: Scenario
    broker: str
    shipped: int
    cancelled: dict[str, int]
    pending: list[str]
    shipped_and_cancelled: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.pending and not self.shipped_and_cancelled

    def as_json(self) -> dict[str, Any]:
        return {
            "orders": self.scenario.orders,
            "shipped": self.shipped,
            "cancelled": self.cancelled,
            "pending": len(self.pending),
            "shipped_and_cancelled": len(self.shipped_and_cancelled),
            "seconds": round(self.seconds, 3),
            "seed": self.scenario.seed,
        }

    def render(self) -> str:
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in self.cancelled.items())
        lines = [
            f"Prismo: {self.scenario.orders:,} orders, seed {self.scenario.seed}, published to "
            f"{self.broker}, watched in the shared stores",
            "",
            f"  shipped            {self.shipped:>9,}",
            f"  cancelled          {sum(self.cancelled.values()):>9,}   ({reasons})",
            f"  pending            {len(self.pending):>9,}",
            f"  settled in         {self.seconds:>9.2f} s",
            "",
        ]
        if self.pending:
            lines.append(
                f"NOT SETTLED: {', '.join(self.pending[:5])}" + ", ..." * (len(self.pending) > 5)
            )
        if self.shipped_and_cancelled:
            lines.append(f"SHIPPED AND CANCELLED: {', '.join(self.shipped_and_cancelled[:5])}")
        if self.ok:
            lines.append("Every order settled.")
        return "\n".join(lines)


async def publish_only(
    scenario: Scenario,
    *,
    broker: str,
    environ: Mapping[str, str],
    timeout: float | None = 600.0,
    poll: float = POLL,
    stores: str = "azure",
) -> Watched:
    """Seed the shared stores, publish the orders, watch the stores until all are settled.

    Raises ``BackendUnavailable`` when something is missing: the configuration, a host that
    set the topology up, or empty stores.
    """
    if broker not in BROKERS or broker == "memory":
        raise BackendUnavailable(
            "--publish-only sends the orders to a host running elsewhere: "
            "use --broker rabbitmq or --broker servicebus"
        )
    if stores == "postgres":
        database = PostgresDatabase.from_environ(environ)
        opened = database.stores()
        fresh = f"{POSTGRES_SCHEMA} (now {database.schema!r})"
        backend = Backend(BROKERS[broker](environ), opened.stores, stores, opened.discard)
    elif stores == "azure":
        account = AzureAccount.from_environ(environ)
        fresh = f"{STORAGE_TABLE_PREFIX} (now {account.table_prefix!r})"
        backend = Backend(BROKERS[broker](environ), account.stores(), stores, account.close)
    else:
        raise BackendUnavailable(
            "--publish-only watches the stores the deployed host shares: --stores azure or "
            "--stores postgres"
        )
    try:
        return await _publish_and_watch(scenario, backend, fresh, timeout, poll)
    finally:
        await backend.close()


async def _publish_and_watch(
    scenario: Scenario,
    backend: Backend,
    fresh: str,
    timeout: float | None,
    poll: float,
) -> Watched:
    accepted = QueueName.topic_of(OrderAccepted.__name__)
    if not await backend.operator.queue_exists(accepted):
        raise BackendUnavailable(
            f"the {backend.broker.name} broker has no {accepted.topic} topic: start the actor "
            "host first (it sets up the topology)"
        )
    async for order in backend.stores.orders.list():
        raise BackendUnavailable(
            f"the stores already hold orders ({order.id}...): give the host and this command "
            f"a fresh {fresh}"
        )
    await stock_the_shop(scenario, backend, build_container(scenario, backend.stores))
    started = time.perf_counter()
    await place_orders(scenario, backend)
    pending = await watch(backend.stores, timeout, poll)
    return await _watched(scenario, backend.broker.name, backend.stores, pending, started)


async def watch(stores: Stores, timeout: float | None, poll: float) -> set[str]:
    """Read the stores every ``poll`` seconds until no order is pending, or ``timeout``.

    A reading that fails (the stores restarting, a network blip) is logged and the next one
    tries again: only the timeout ends the watch early. Returns the orders still pending;
    ``BackendUnavailable`` when no reading succeeded at all.
    """
    pending: set[str] | None = None
    failure: Exception | None = None
    try:
        async with asyncio.timeout(timeout):
            while pending is None or pending:
                try:
                    pending = await unsettled(stores)
                except Exception as error:
                    failure = error
                    logger.warning("reading the stores failed, trying again: %s", error)
                if pending is None or pending:
                    await asyncio.sleep(poll)
    except TimeoutError:
        pass
    if pending is None:
        raise BackendUnavailable(f"the stores could not be read until the timeout: {failure}")
    return pending


async def _watched(
    scenario: Scenario, broker: str, stores: Stores, pending: set[str], started: float
) -> Watched:
    seconds = time.perf_counter() - started
    shipped = {shipment.id async for shipment in stores.shipments.list()}
    cancelled = {"payment": 0, "fraud": 0}
    both = []
    async for order in stores.orders.list():
        if order.cancelled and order.cancellation_reason is not None:
            cancelled[order.cancellation_reason] += 1
            if order.id in shipped:
                both.append(order.id)
    return Watched(
        scenario, broker, len(shipped), cancelled, sorted(pending), sorted(both), seconds
    )
