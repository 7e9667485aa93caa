"""One actor naming its models through their module only."""

from __future__ import annotations

from beehive import Event, ExternalEvents, actor
from tests.networks.elsewhere import events

external = ExternalEvents(inputs=["OrderPlaced"], outputs=["Shipped"])


@actor("OrderPlaced-Shipping", emits=[events.Shipped])
class ShippingActor:
    async def process(self, event: Event) -> list[Event]:
        order = event.body_as(events.OrderPlaced)
        return [Event(events.Shipped(order_id=order.order_id, carrier="post"))]
