"""Replenishment: park short items, order stock from the supplier, wake the waiting orders."""

from __future__ import annotations

from beehive import Event, actor
from beehive.stores import CollectionStore, KeyAlreadyExistsError
from samples.prismo.concurrency import find
from samples.prismo.entities import Replenishment, order_of
from samples.prismo.events import (
    ItemBackInStockForOrder,
    ItemOutOfStockForOrder,
    ProductArrivedBackInStock,
    ProductOutOfStock,
    subscription,
)
from samples.prismo.inventory import Inventory
from samples.prismo.redelivery import replay
from samples.prismo.services import Supplier


@actor(
    subscription(ItemOutOfStockForOrder, "ParkOrderItem"),
    parallelism=4,
    emits=[ProductOutOfStock],
)
class ParkOrderItemActor:
    """Queues the order for the product, then asks for stock (unless it was cancelled)."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    async def process(self, event: Event) -> list[Event]:
        item = event.body_as(ItemOutOfStockForOrder)
        queued = await self.inventory.queue(item.product_id, item.order_id, item.quantity)
        # Queued first, checked second: a cancellation either is seen here or, coming later,
        # finds the order in the queue and takes it out. No waiting order is left behind.
        ledger = await self.inventory.ledger(item.order_id)
        line = ledger.lines.get(item.product_id)
        if ledger.cancelled or line is None or line.status != "waiting":
            await self.inventory.unqueue(item.product_id, item.order_id)
            return []
        wanted = ProductOutOfStock(
            product_id=item.product_id, quantity=item.quantity, request_id=item.request_id
        )
        return [Event(wanted)] if queued else replay(event, [Event(wanted)])


@actor(
    subscription(ProductOutOfStock, "ReplenishStock"),
    parallelism=32,
    emits=[ProductArrivedBackInStock],
)
class ReplenishStockActor:
    """Orders stock from the supplier, once per request, and puts what arrives into stock."""

    def __init__(
        self,
        replenishments: CollectionStore[Replenishment],
        supplier: Supplier,
        inventory: Inventory,
    ) -> None:
        self.replenishments = replenishments
        self.supplier = supplier
        self.inventory = inventory

    async def process(self, event: Event) -> list[Event]:
        wanted = event.body_as(ProductOutOfStock)
        known = await find(self.replenishments, wanted.request_id)
        if known is not None:
            return replay(event, [_arrived(known)])
        delivery = await self.supplier.deliver(
            wanted.product_id, wanted.quantity, request_id=wanted.request_id
        )
        received = Replenishment(
            id=wanted.request_id, product_id=wanted.product_id, quantity=delivery.quantity
        )
        try:
            await self.replenishments.insert(received)
        except KeyAlreadyExistsError:
            return []  # a concurrent delivery of the same request got there first
        await self.inventory.receive(wanted.product_id, delivery.quantity)
        return [_arrived(received)]


def _arrived(replenishment: Replenishment) -> Event:
    return Event(
        ProductArrivedBackInStock(
            product_id=replenishment.product_id,
            quantity=replenishment.quantity,
            request_id=replenishment.id,
        )
    )


@actor(
    subscription(ProductArrivedBackInStock, "ActionParkedOrders"),
    parallelism=4,
    emits=[ItemBackInStockForOrder],
)
class ActionParkedOrdersActor:
    """Wakes the orders waiting for the product that the stock now on hand can serve.

    The order that asked for this delivery is woken first, whatever the stock (if others took
    it, that order asks again); then other waiting orders, as long as their quantities fit in
    the stock. Waking every waiting order on every delivery, as the original did, costs
    waiting orders squared. The original also cleared the product's queue here, which could
    lose an order queued meanwhile; here an order leaves the queue only once it has taken its
    stock or is cancelled.
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    async def process(self, event: Event) -> list[Event]:
        arrived = event.body_as(ProductArrivedBackInStock)
        waiting = await self.inventory.waiting_for(arrived.product_id)
        requester = order_of(arrived.request_id)
        waiting.sort(key=lambda order: order.id != requester)
        available = await self.inventory.in_stock(arrived.product_id)
        woken = []
        for order in waiting:
            if order.id != requester:
                if order.quantity > available:
                    continue
                available -= order.quantity
            woken.append(order.id)
        return [
            Event(
                ItemBackInStockForOrder(
                    order_id=order_id,
                    product_id=arrived.product_id,
                    request_id=arrived.request_id,
                )
            )
            for order_id in woken
        ]
