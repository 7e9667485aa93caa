"""Payment: authorise an accepted order once; refund it if the order is cancelled."""

from __future__ import annotations

from beehive import Event, actor, republish
from beehive.stores import CollectionStore, KeyAlreadyExistsError
from samples.prismo.entities import Order, Payment
from samples.prismo.events import (
    OrderAccepted,
    OrderCancelled,
    PaymentAuthorised,
    PaymentFailed,
    once,
    subscription,
)
from samples.prismo.lookup import find
from samples.prismo.services import PaymentGateway


def _outcome(payment: Payment) -> Event:
    if payment.status == "declined":
        reason = payment.decline_reason or "declined"
        return once(PaymentFailed(order_id=payment.id, reason=reason), payment.id)
    return once(
        PaymentAuthorised(order_id=payment.id, payment_reference=payment.reference), payment.id
    )


@actor(
    subscription(OrderAccepted, "Payment"),
    parallelism=8,
    emits=[PaymentAuthorised, PaymentFailed],
)
class PaymentActor:
    """Asks the gateway to authorise the order's total; the Payment record makes it once."""

    def __init__(
        self,
        orders: CollectionStore[Order],
        payments: CollectionStore[Payment],
        payment_gateway: PaymentGateway,
    ) -> None:
        self.orders = orders
        self.payments = payments
        self.gateway = payment_gateway

    async def process(self, event: Event) -> list[Event]:
        order_id = event.body_as(OrderAccepted).order_id
        known = await find(self.payments, order_id)
        if known is not None:
            return republish(event, [_outcome(known)])
        order = await self.orders.get(order_id)
        answer = await self.gateway.authorise(
            order_id, order.total_cents, idempotency_key=f"authorise:{order_id}"
        )
        payment = Payment(
            id=order_id,
            reference=answer.reference,
            amount_cents=order.total_cents,
            status="authorised" if answer.approved else "declined",
            decline_reason=answer.reason,
        )
        try:
            await self.payments.insert(payment)
        except KeyAlreadyExistsError:
            return []  # a concurrent delivery of the same order recorded it, and publishes it
        return [_outcome(payment)]


@actor(subscription(OrderCancelled, "Refund"), parallelism=4)
class RefundActor:
    """Compensation: refunds an authorised payment of a cancelled order, once."""

    def __init__(self, payments: CollectionStore[Payment], payment_gateway: PaymentGateway) -> None:
        self.payments = payments
        self.gateway = payment_gateway

    async def process(self, event: Event) -> list[Event]:
        order_id = event.body_as(OrderCancelled).order_id
        payment = await find(self.payments, order_id)
        if payment is None or payment.status != "authorised":
            return []
        await self.gateway.refund(payment.reference, idempotency_key=f"refund:{order_id}")
        await self.payments.modify(
            order_id,
            lambda p: (
                p.model_copy(update={"status": "refunded"}) if p.status == "authorised" else p
            ),
        )
        return []
