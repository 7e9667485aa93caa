"""Prismo under simulation: its invariants hold, and the original's bugs, put back, are found.

Every actor runs idempotent (the host's inbox, as a deployment switches on with
``BEEHIVE_ACTOR__<Class>__IDEMPOTENT``) under every broker fault and every crash of the host's
steps. Store faults stay off here: the one window they open is known (a crash between a
counter move and its ledger write, left open by issue 4), and the last test shows the
simulation finds it.
"""

from __future__ import annotations

import dataclasses

from beehive import ActorDescriptor, Event, discover
from beehive.stores import CounterUnderflowError
from beehive.testing import Faults, Simulation
from samples.prismo.actors.fulfilment import FulfilmentGateActor
from samples.prismo.actors.inventory import ProcessOrderActor
from samples.prismo.container import PrismoContainer
from samples.prismo.entities import LineStatus
from samples.prismo.events import OrderInventoryCheckCompleted, OrderReadyForFulfilment
from samples.prismo.inventory import STOCK, Inventory, Take
from samples.prismo.scenario import Scenario
from samples.prismo.simulation import ACTORS, prismo_simulation

BROKER_AND_HOST = Faults(store_failure=0.0, store_crash=0.0)
"""Every fault but the stores': abandons, lease expiries, duplicates, crashes, publishes."""


def idempotent(swap: dict[type, type] | None = None) -> list[ActorDescriptor]:
    """Prismo's actors, each idempotent, with ``swap``'s classes in place of the originals."""
    swap = swap or {}
    return [
        dataclasses.replace(
            descriptor,
            idempotent=True,
            actor_type=swap.get(descriptor.actor_type, descriptor.actor_type),
        )
        for descriptor in discover(ACTORS)
    ]


def simulation(
    scenario: Scenario, actors: list[ActorDescriptor], faults: Faults = BROKER_AND_HOST
) -> Simulation[PrismoContainer]:
    return prismo_simulation(scenario, actors=actors, faults=faults)


def test_prismo_invariants_hold_over_twenty_seeds_of_twenty_orders() -> None:
    report = simulation(Scenario(orders=20), idempotent()).run(range(20))

    report.check()
    assert report.runs == 20
    assert sum(report.injected.values()) > 200  # about 25 faults a run
    assert {"duplicate", "lease_expiry", "crash_after_publish"} <= set(report.injected)


# -- the original's race: shipping without waiting for the fraud check ------------------------


class ShipsBeforeTheFraudCheck(FulfilmentGateActor):
    """The original: stock reserved, the order ships; the fraud verdict is not waited for."""

    async def process(self, event: Event) -> list[Event]:
        if event.event_type != OrderInventoryCheckCompleted.__name__:
            return []
        order_id = event.body_as(OrderInventoryCheckCompleted).order_id
        return [Event(OrderReadyForFulfilment(order_id=order_id))]


def test_shipping_before_the_fraud_check_is_found_shrunk_and_replayed() -> None:
    actors = idempotent({FulfilmentGateActor: ShipsBeforeTheFraudCheck})
    sim = simulation(Scenario(orders=20, fraud_rate=0.3), actors)
    report = sim.run(range(20))

    assert not report.ok
    failure = report.failures[0]
    assert failure.invariant == "cancelled_never_shipped"
    assert len(failure.faults) < len(failure.found.faults)
    order = failure.problems[0].rpartition(": ")[2]
    assert f"journey of {order} (" in str(failure)
    assert "FulfilmentActor@OrderReadyForFulfilment-Fulfilment" in failure.run.journeys
    assert "CancelOrderActor@FraudCheckFailed-CancelOrder" in failure.run.journeys
    again = sim.replay(failure.seed, failure.faults)
    assert again.fingerprint == failure.run.fingerprint
    assert again.violations == failure.run.violations


# -- the original's check-then-act: taking a parked item without the atomic check -------------


class UncheckedInventory(Inventory):
    """Takes a line by reading its ledger, then writing it back blindly (no ETag check)."""

    async def take(
        self, order_id: str, product_id: str, *, expected: LineStatus = "pending"
    ) -> Take:
        ledger = await self.ledgers.get(order_id)
        line = ledger.lines[product_id]
        if ledger.cancelled or line.status != expected:
            return Take("settled", ledger)
        try:
            await self.counters.decrement(STOCK, product_id, line.quantity, allow_negative=False)
        except CounterUnderflowError:
            return Take("short", ledger)
        ledger = await self.ledgers.upsert(ledger.with_line(product_id, status="taken"))
        return Take("taken", ledger, completed=ledger.complete)


class TakesParkedItemsUnchecked(ProcessOrderActor):
    def __init__(self, inventory: Inventory) -> None:
        super().__init__(
            UncheckedInventory(inventory.counters, inventory.ledgers, inventory.queued)
        )


CONTENDED = Scenario(orders=20, products=3, initial_stock=6)
"""Few products, little stock: many orders park for the same deliveries."""


def test_the_contended_shop_itself_holds() -> None:
    assert simulation(CONTENDED, idempotent()).run(range(6)).ok


def test_taking_parked_items_without_the_atomic_check_is_found() -> None:
    actors = idempotent({ProcessOrderActor: TakesParkedItemsUnchecked})
    sim = simulation(CONTENDED, actors)
    report = sim.run(range(10))

    assert not report.ok
    failure = report.failures[0]
    assert failure.invariant in {"every_order_settled", "stock_conserved"}
    assert len(failure.faults) < len(failure.found.faults)
    assert sim.replay(failure.seed, failure.faults).fingerprint == failure.run.fingerprint


# -- the window issue 4 left open -------------------------------------------------------------


def test_a_store_fault_between_the_counter_and_the_ledger_is_found_with_one_fault() -> None:
    faults = Faults(store_failure=0.01, store_crash=0.01)
    report = simulation(Scenario(orders=20), idempotent(), faults).run(range(10))

    failure = report.failures[0]
    assert failure.invariant == "stock_conserved"
    assert len(failure.faults) == 1
    fault = failure.faults[0]
    assert fault.kind in {"store_failure", "crash_after_store_write"}
    assert fault.source in {
        "OrderItemsNotYetAccountedFor-InventoryCheck",
        "ItemBackInStockForOrder-ProcessOrder",
    }
    assert fault.detail.startswith(("OrderStock.", "Stock.increment", "Inbox."))


# -- the original's misspelt subscription ------------------------------------------------------


def test_the_misspelt_fraud_subscription_is_found_without_a_fault() -> None:
    actors = [
        dataclasses.replace(descriptor, source="FrauCheckFailed-CancelOrder")
        if descriptor.source == "FraudCheckFailed-CancelOrder"
        else descriptor
        for descriptor in idempotent()
    ]
    report = simulation(Scenario(orders=20, fraud_rate=0.3), actors).run(range(5))

    failure = report.failures[0]
    assert failure.invariant == "every_order_settled"
    assert failure.faults == ()
    first = failure.problems[0].rpartition(": ")[2].split(", ")[0]
    assert failure.run.journeys.startswith(f"journey of {first} (")
    assert "FraudCheckActor@PaymentAuthorised-FraudCheck" in failure.run.journeys
    assert "CancelOrder" not in failure.run.journeys
