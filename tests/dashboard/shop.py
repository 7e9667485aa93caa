"""A small order chain for the dashboard tests: placed → paid → packed → shipped, plus audit.

A payment for an order marked ``declined`` fails (and is dead-lettered at once) until it is
replayed: a fault fixed in the meantime, as replay is meant for.
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from beehive import Event, actor
from beehive.queues.base import REPLAY_COUNT


class OrderPlaced(BaseModel):
    order_id: str
    declined: bool = False


class PaymentTaken(BaseModel):
    order_id: str


class OrderPacked(BaseModel):
    order_id: str


class OrderShipped(BaseModel):
    order_id: str


def placed(order_id: str, *, declined: bool = False) -> Event:
    return Event(OrderPlaced(order_id=order_id, declined=declined), correlation_id=order_id)


@actor("OrderPlaced-Payment", parallelism=4, max_deliveries=1, emits=[PaymentTaken])
class Payment:
    async def process(self, event: Event) -> list[Event]:
        order = event.body_as(OrderPlaced)
        if order.declined and REPLAY_COUNT not in event.properties:
            raise ValueError(f"card declined for order {order.order_id}")
        await asyncio.sleep(0.01)  # the gateway's round trip
        return [Event(PaymentTaken(order_id=order.order_id), correlation_id=order.order_id)]


@actor("PaymentTaken-Warehouse", parallelism=4, emits=[OrderPacked])
class Warehouse:
    async def process(self, event: Event) -> list[Event]:
        order = event.body_as(PaymentTaken)
        return [Event(OrderPacked(order_id=order.order_id), correlation_id=order.order_id)]


@actor("OrderPacked-Shipping", parallelism=4, emits=[OrderShipped])
class Shipping:
    async def process(self, event: Event) -> list[Event]:
        order = event.body_as(OrderPacked)
        return [Event(OrderShipped(order_id=order.order_id), correlation_id=order.order_id)]


@actor("OrderPlaced-Audit")
@actor("OrderShipped-Audit")
class Audit:
    async def process(self, event: Event) -> list[Event]:
        return []
