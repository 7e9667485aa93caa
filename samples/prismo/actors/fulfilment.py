"""Fulfilment: wait for both the fraud check and the stock, then ship, once.

The original shipped as soon as the stock was there, racing the fraud check that might be
about to cancel the order. Here the two branches meet in a scatter-gather gate (one ETag
flag per branch) and only the write that sets the second flag releases the order.
"""

from __future__ import annotations

from typing import Literal

from beehive import Event, actor, republish
from beehive.stores import CollectionStore, KeyAlreadyExistsError
from samples.prismo.entities import FulfilmentGate, Order, Shipment
from samples.prismo.events import (
    FraudCheckPassed,
    OrderInventoryCheckCompleted,
    OrderReadyForFulfilment,
    OrderShipped,
    once,
    subscription,
)
from samples.prismo.lookup import find

Branch = Literal["fraud", "stock"]
_BRANCHES: dict[str, tuple[type[FraudCheckPassed | OrderInventoryCheckCompleted], Branch]] = {
    FraudCheckPassed.__name__: (FraudCheckPassed, "fraud"),
    OrderInventoryCheckCompleted.__name__: (OrderInventoryCheckCompleted, "stock"),
}


def arrive(gate: FulfilmentGate, branch: Branch) -> FulfilmentGate:
    """The gate with ``branch``'s flag set; the same object if it was set already.

    The arrival that sets the last flag records itself as the one that opened the gate.
    """
    flag = "fraud_checked" if branch == "fraud" else "stock_reserved"
    if getattr(gate, flag):
        return gate
    arrived = gate.model_copy(update={flag: True})
    if arrived.fraud_checked and arrived.stock_reserved:
        arrived = arrived.model_copy(update={"opened_by": branch})
    return arrived


@actor(
    subscription(FraudCheckPassed, "FulfilmentGate"),
    parallelism=4,
    emits=[OrderReadyForFulfilment],
)
@actor(
    subscription(OrderInventoryCheckCompleted, "FulfilmentGate"),
    parallelism=4,
    emits=[OrderReadyForFulfilment],
)
class FulfilmentGateActor:
    """Sets its branch's flag; publishes ``OrderReadyForFulfilment`` if it set the last one."""

    def __init__(self, gates: CollectionStore[FulfilmentGate]) -> None:
        self.gates = gates

    async def process(self, event: Event) -> list[Event]:
        model, branch = _BRANCHES[event.event_type]
        order_id = event.body_as(model).order_id
        arrived_here = False

        def arrive_here(gate: FulfilmentGate) -> FulfilmentGate:
            nonlocal arrived_here  # as of the last run: the one whose result was stored
            arrived = arrive(gate, branch)
            arrived_here = arrived is not gate
            return arrived

        gate = await self.gates.modify(
            order_id, arrive_here, default=lambda: FulfilmentGate(id=order_id)
        )
        if gate.opened_by != branch:
            return []
        ready = [once(OrderReadyForFulfilment(order_id=order_id), order_id)]
        return ready if arrived_here else republish(event, ready)


@actor(subscription(OrderReadyForFulfilment, "Fulfilment"), parallelism=4, emits=[OrderShipped])
class FulfilmentActor:
    """Creates the order's one shipment; a cancelled order is never shipped."""

    def __init__(
        self, orders: CollectionStore[Order], shipments: CollectionStore[Shipment]
    ) -> None:
        self.orders = orders
        self.shipments = shipments

    async def process(self, event: Event) -> list[Event]:
        order_id = event.body_as(OrderReadyForFulfilment).order_id
        shipped = [once(OrderShipped(order_id=order_id, shipment_id=order_id), order_id)]
        if await find(self.shipments, order_id) is not None:
            return republish(event, shipped)
        order = await self.orders.get(order_id)
        if order.cancelled:
            # Unreachable through the gate (only payment and fraud cancel, both before it);
            # kept because shipping a cancelled order is the one mistake we must never make.
            return []
        shipment = Shipment(
            id=order_id,
            customer_id=order.customer_id,
            lines=order.lines,
            address=order.shipping_address,
        )
        try:
            await self.shipments.insert(shipment)
        except KeyAlreadyExistsError:
            return []
        return shipped
