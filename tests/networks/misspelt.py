"""The original Prismo's bug: the canceller subscribes to a misspelt topic."""

from __future__ import annotations

from pydantic import BaseModel

from beehive import Event, ExternalEvents, actor


class OrderAccepted(BaseModel):
    order_id: str


class FraudCheckFailed(BaseModel):
    order_id: str


class OrderCancelled(BaseModel):
    order_id: str


external = ExternalEvents(inputs=[OrderAccepted], outputs=[OrderCancelled])


@actor("OrderAccepted-FraudCheck", emits=[FraudCheckFailed])
class FraudCheckActor:
    async def process(self, event: Event) -> list[Event]:
        return [Event(FraudCheckFailed(order_id=event.body_as(OrderAccepted).order_id))]


@actor("FrauCheckFailed-CancelOrder", emits=[OrderCancelled])
class CancelOrderActor:
    async def process(self, event: Event) -> list[Event]:
        return []
