"""Cancellation: a failed payment or a fraud verdict cancels the order, once.

The original sample subscribed to ``FrauCheckFailed-CancelOrder``, a topic nobody publishes
to, so fraud never cancelled anything; here both sources are built from the event classes.
"""

from __future__ import annotations

from beehive import Event, actor, republish
from beehive.stores import CollectionStore
from samples.prismo.entities import CancellationReason, Order
from samples.prismo.events import (
    FraudCheckFailed,
    OrderCancelled,
    PaymentFailed,
    once,
    subscription,
)

_REASONS: dict[str, tuple[type[PaymentFailed | FraudCheckFailed], CancellationReason]] = {
    PaymentFailed.__name__: (PaymentFailed, "payment"),
    FraudCheckFailed.__name__: (FraudCheckFailed, "fraud"),
}


@actor(subscription(PaymentFailed, "CancelOrder"), parallelism=4, emits=[OrderCancelled])
@actor(subscription(FraudCheckFailed, "CancelOrder"), parallelism=4, emits=[OrderCancelled])
class CancelOrderActor:
    """Marks the order cancelled (under ETag concurrency) and announces it."""

    def __init__(self, orders: CollectionStore[Order]) -> None:
        self.orders = orders

    async def process(self, event: Event) -> list[Event]:
        model, reason = _REASONS[event.event_type]
        order_id = event.body_as(model).order_id

        cancelled_here = False

        def cancel(order: Order) -> Order:
            nonlocal cancelled_here  # as of the last run: the one whose result was stored
            cancelled_here = not order.cancelled
            if order.cancelled:
                return order
            return order.model_copy(update={"cancelled": True, "cancellation_reason": reason})

        order = await self.orders.modify(order_id, cancel)
        first_reason = order.cancellation_reason
        cancelled = once(OrderCancelled(order_id=order_id, reason=first_reason or reason), order_id)
        return [cancelled] if cancelled_here else republish(event, [cancelled])
