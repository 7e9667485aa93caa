"""Inventory: take a paid order's items out of stock one by one; give them back on cancellation.

The original sample stalled at a "TODO" when an item was out of stock, and never took parked
items out of stock once they came back. Here a short item waits (see ``replenishment``), and
whichever step takes an order's last item, in the item-by-item check or when stock comes back,
publishes ``OrderInventoryCheckCompleted``.
"""

from __future__ import annotations

from beehive import Event, actor, republish
from beehive.stores import CollectionStore
from samples.prismo.entities import Order
from samples.prismo.events import (
    ItemBackInStockForOrder,
    ItemOutOfStockForOrder,
    OrderCancelled,
    OrderInventoryCheckCompleted,
    OrderItemsNotYetAccountedFor,
    PaymentAuthorised,
    ProductOutOfStock,
    once,
    subscription,
)
from samples.prismo.inventory import Inventory


def _completed(order_id: str) -> Event:
    return once(OrderInventoryCheckCompleted(order_id=order_id), order_id)


@actor(
    subscription(PaymentAuthorised, "InventoryDecrement"),
    parallelism=4,
    emits=[OrderItemsNotYetAccountedFor],
)
class InventoryDecrementActor:
    """Opens the order's stock ledger and starts the item-by-item check."""

    def __init__(self, orders: CollectionStore[Order], inventory: Inventory) -> None:
        self.orders = orders
        self.inventory = inventory

    async def process(self, event: Event) -> list[Event]:
        order = await self.orders.get(event.body_as(PaymentAuthorised).order_id)
        ledger = await self.inventory.open(order)
        if ledger.cancelled:
            return []
        return [once(OrderItemsNotYetAccountedFor(order_id=order.id, items=order.lines), order.id)]


@actor(
    subscription(OrderItemsNotYetAccountedFor, "InventoryCheck"),
    parallelism=4,
    emits=[OrderItemsNotYetAccountedFor, ItemOutOfStockForOrder, OrderInventoryCheckCompleted],
)
class InventoryCheckActor:
    """Takes the first item out of stock, or sends it waiting; passes the rest on."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    async def process(self, event: Event) -> list[Event]:
        check = event.body_as(OrderItemsNotYetAccountedFor)
        order_id, (item, *rest) = check.order_id, check.items
        take = await self.inventory.take(order_id, item.product_id)
        if take.ledger.cancelled:
            return []
        outcome: list[Event] = []
        if take.outcome != "taken":
            wait = await self.inventory.wait_for_stock(order_id, item.product_id)
            if wait is not None:
                outcome.append(
                    Event(
                        ItemOutOfStockForOrder(
                            order_id=order_id,
                            product_id=item.product_id,
                            quantity=wait.quantity,
                            request_id=wait.request_id,
                        )
                    )
                )
        if take.completed or (take.outcome == "settled" and take.ledger.complete):
            outcome.append(_completed(order_id))
        if rest:
            left = OrderItemsNotYetAccountedFor(order_id=order_id, items=rest)
            outcome.append(once(left, order_id, *(line.product_id for line in rest)))
        # An item settled before this delivery means the work was done: only a redelivery
        # (whose first attempt may not have published) passes the outcome on again.
        return republish(event, outcome) if take.outcome == "settled" else outcome


@actor(
    subscription(ItemBackInStockForOrder, "ProcessOrder"),
    parallelism=4,
    emits=[OrderInventoryCheckCompleted, ProductOutOfStock],
)
class ProcessOrderActor:
    """A waiting item tries again to take its quantity out of stock.

    If other orders took the delivery first, the item keeps waiting; if the delivery was the
    one it asked for, it asks the supplier again, so every waiting item always has a
    replenishment on its way.
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    async def process(self, event: Event) -> list[Event]:
        back = event.body_as(ItemBackInStockForOrder)
        order_id, product_id = back.order_id, back.product_id
        take = await self.inventory.take(order_id, product_id, expected="waiting")
        if take.outcome == "taken":
            await self.inventory.unqueue(product_id, order_id)
            return [_completed(order_id)] if take.completed else []
        if take.outcome == "settled":
            await self.inventory.unqueue(product_id, order_id)
            complete = take.ledger.complete
            return republish(event, [_completed(order_id)] if complete else [])
        wait = await self.inventory.wait_for_stock(order_id, product_id, unanswered=back.request_id)
        if wait is None or not (wait.new or event.delivery_count > 1):
            return []
        request = ProductOutOfStock(
            product_id=product_id, quantity=wait.quantity, request_id=wait.request_id
        )
        return [Event(request)]


@actor(subscription(OrderCancelled, "Restock"), parallelism=4)
class RestockActor:
    """Compensation: puts a cancelled order's items back into stock and unqueues its waits."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory

    async def process(self, event: Event) -> list[Event]:
        await self.inventory.cancel(event.body_as(OrderCancelled).order_id)
        return []
