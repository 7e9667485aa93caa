"""Orders: each placed order is kept, given a receipt, and confirmed."""

from __future__ import annotations

from beehive import Event, actor
from beehive.stores import CollectionStore, KeyValueStore
from shop.events import Order, OrderConfirmed, OrderPlaced


@actor("OrderPlaced-Confirm", parallelism=8, emits=[OrderConfirmed])
class ConfirmOrderActor:
    def __init__(self, orders: CollectionStore[Order], receipts: KeyValueStore) -> None:
        self.orders = orders
        self.receipts = receipts

    async def process(self, event: Event) -> list[Event]:
        placed = event.body_as(OrderPlaced)
        await self.orders.upsert(Order(id=placed.order_id, total=placed.total, confirmed=True))
        receipt = f"order {placed.order_id}: {placed.total:.2f}\n".encode()
        await self.receipts.put(f"receipts/{placed.order_id}.txt", receipt)
        return [Event(OrderConfirmed(order_id=placed.order_id))]
