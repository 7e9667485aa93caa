"""A reader deployed with version 2 of its event and the upcaster from version 1."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from beehive import Event, ExternalEvents, Upcasters, actor, event_version


@event_version(2)
class OrderPlaced(BaseModel):
    order_id: str
    total_cents: int


class Billed(BaseModel):
    order_id: str
    total_cents: int


external = ExternalEvents(inputs=[OrderPlaced], outputs=[Billed])
upcasters = Upcasters()


@upcasters.register(OrderPlaced, from_version=1)
def total_in_cents(body: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": body["order_id"], "total_cents": round(body["total"] * 100)}


@actor("OrderPlaced-Billing", emits=[Billed])
class BillingActor:
    async def process(self, event: Event) -> list[Event]:
        order = event.body_as(OrderPlaced)
        return [Event(Billed(order_id=order.order_id, total_cents=order.total_cents))]
