"""Replenishment: park short items, order stock from the supplier, wake the waiting orders."""

from __future__ import annotations

from beehive import Event, actor, republish
from beehive.stores import CollectionStore, KeyAlreadyExistsError
from samples.prismo.entities import Replenishment, order_of
from samples.prismo.events import (
    ItemBackInStockForOrder,
    ItemOutOfStockForOrder,
    ProductArrivedBackInStock,
    ProductOutOfStock,
    once,
    subscription,
)
from samples.prismo.inventory import Inventory
from samples.prismo.lookup import find
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
        announced = [once(wanted, wanted.request_id)]
        return announced if queued else republish(event, announced)


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
            return republish(event, [_arrived(known)])
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
    arrived = ProductArrivedBackInStock(
        product_id=replenishment.product_id,
        quantity=replenishment.quantity,
        request_id=replenishment.id,
    )
    return once(arrived, replenishment.id)


@actor(
    subscription(ProductArrivedBackInStock, "ActionParkedOrders"),
    parallelism=4,
    emits=[ItemBackInStockForOrder],
)
class ActionParkedOrdersActor:
    """Wakes the waiting orders that this delivery can serve.

    The delivery goes first to the order line that asked for it (woken whatever happens: if
    other orders took the stock meanwhile, that line asks again, so every waiting line always
    has a delivery on its way); what is left over (the supplier's margin) goes to the next
    waiting orders it covers. The original woke every waiting order on every delivery: with
    many deliveries in flight that is waiting orders squared, nearly all of them woken for
    nothing. It also cleared the product's queue, which could lose an order queued meanwhile;
    here an order leaves the queue only once it has its stock or is cancelled.
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    async def process(self, event: Event) -> list[Event]:
        arrived = event.body_as(ProductArrivedBackInStock)
        left = arrived.quantity
        woken = []
        requester = await self.inventory.queued_order(
            arrived.product_id, order_of(arrived.request_id)
        )
        if requester is not None:
            woken.append(requester.id)
            left -= requester.quantity
        async for order in self.inventory.waiting_for(arrived.product_id):
            if left < 1:
                break  # the queue can be long: read only as much of it as the delivery serves
            if order.quantity <= left and order.id not in woken:
                woken.append(order.id)
                left -= order.quantity
        # Each woken order continues its own journey (and trace), not the requester's.
        return [
            Event(
                ItemBackInStockForOrder(
                    order_id=order_id,
                    product_id=arrived.product_id,
                    request_id=arrived.request_id,
                ),
                correlation_id=order_id,
            )
            for order_id in woken
        ]
