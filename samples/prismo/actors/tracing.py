"""Tracing: one actor on every topic, logging each event with its correlation.

Follow one order through the system with ``python -m samples.prismo --trace``; every line
names the event, its order (or product), and the event that caused it.
"""

from __future__ import annotations

import logging

from beehive import Event, actor
from samples.prismo.events import (
    FraudCheckFailed,
    FraudCheckPassed,
    ItemBackInStockForOrder,
    ItemOutOfStockForOrder,
    OrderAccepted,
    OrderCancelled,
    OrderInventoryCheckCompleted,
    OrderItemsNotYetAccountedFor,
    OrderReadyForFulfilment,
    OrderShipped,
    PaymentAuthorised,
    PaymentFailed,
    ProductArrivedBackInStock,
    ProductOutOfStock,
    subscription,
)

logger = logging.getLogger("samples.prismo.trace")


@actor(subscription(OrderAccepted, "Trace"))
@actor(subscription(PaymentAuthorised, "Trace"))
@actor(subscription(PaymentFailed, "Trace"))
@actor(subscription(FraudCheckPassed, "Trace"))
@actor(subscription(FraudCheckFailed, "Trace"))
@actor(subscription(OrderItemsNotYetAccountedFor, "Trace"))
@actor(subscription(ItemOutOfStockForOrder, "Trace"))
@actor(subscription(ProductOutOfStock, "Trace"))
@actor(subscription(ProductArrivedBackInStock, "Trace"))
@actor(subscription(ItemBackInStockForOrder, "Trace"))
@actor(subscription(OrderInventoryCheckCompleted, "Trace"))
@actor(subscription(OrderReadyForFulfilment, "Trace"))
@actor(subscription(OrderShipped, "Trace"))
@actor(subscription(OrderCancelled, "Trace"))
class TracingActor:
    """Logs every event at INFO on ``samples.prismo.trace``; publishes nothing."""

    async def process(self, event: Event) -> list[Event]:
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "%-30s %s correlation=%s cause=%s",
                event.event_type,
                event.body,
                event.correlation_id,
                event.causation_id,
            )
        return []
