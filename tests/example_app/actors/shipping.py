from __future__ import annotations

from dependency_injector.wiring import Provide

from beehive import Event, actor
from tests.example_app.models import OrderShipped, PaymentAuthorised
from tests.example_app.services import Container, Shipper


@actor("PaymentAuthorised-Shipping", emits=[OrderShipped])
class ShippingActor:
    def __init__(self, shipper: Shipper = Provide[Container.shipper]) -> None:
        self.shipper = shipper

    async def process(self, event: Event) -> list[Event]:
        order_id = event.body_as(PaymentAuthorised).order_id
        self.shipper.shipped.append(order_id)
        return [Event(OrderShipped(order_id=order_id))]


@actor("OrderAccepted-Trace")
@actor("PaymentAuthorised-Trace")
@actor("OrderShipped-Trace")
class TracingActor:
    seen: list[str] = []

    async def process(self, event: Event) -> list[Event]:
        return []
