from __future__ import annotations

from beehive import Event, actor
from tests.example_app.models import OrderAccepted, PaymentAuthorised
from tests.example_app.services import PaymentGateway


@actor("OrderAccepted-Payment", parallelism=4, max_deliveries=5, emits=[PaymentAuthorised])
class PaymentActor:
    def __init__(self, payment_gateway: PaymentGateway) -> None:
        self.gateway = payment_gateway

    async def process(self, event: Event) -> list[Event]:
        accepted = event.body_as(OrderAccepted)
        payment_id = await self.gateway.authorise(accepted.order_id)
        return [Event(PaymentAuthorised(order_id=accepted.order_id, payment_id=payment_id))]
