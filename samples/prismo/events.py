"""The facts Prismo's actors exchange: small, immutable, naming ids rather than carrying state.

Subscriptions are written ``subscription(FraudCheckFailed, "CancelOrder")`` rather than as
strings, so a misspelt topic (the original sample's ``FrauCheckFailed``) cannot be written.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from beehive import Event
from samples.prismo.entities import CancellationReason, OrderLine


class Fact(BaseModel):
    """Base of every Prismo event body: frozen, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


_FACTS = uuid.UUID("6d1f2c0e-4b7a-5a39-9c58-7f0e2b1d3a64")


def once(fact: Fact, *key: str) -> Event:
    """The event announcing ``fact``, which happens once per ``key`` (an order, a request).

    Its id is derived from the fact's type and key, so a redelivery that announces the fact
    again (``republish``) publishes the very same event, which an idempotent actor downstream
    recognises, instead of a new one that it would handle a second time.
    """
    name = ":".join((type(fact).__name__, *key))
    return Event(fact, id=str(uuid.uuid5(_FACTS, name)))


class OrderAccepted(Fact):
    order_id: str


class PaymentAuthorised(Fact):
    order_id: str
    payment_reference: str


class PaymentFailed(Fact):
    order_id: str
    reason: str


class FraudCheckPassed(Fact):
    order_id: str


class FraudCheckFailed(Fact):
    order_id: str
    reason: str


class OrderItemsNotYetAccountedFor(Fact):
    """The items of an order still to take out of stock, handled one at a time."""

    order_id: str
    items: tuple[OrderLine, ...] = Field(min_length=1)


class ItemOutOfStockForOrder(Fact):
    order_id: str
    product_id: str
    quantity: int
    request_id: str


class ProductOutOfStock(Fact):
    """Stock is wanted for a product; ``request_id`` makes the purchase order idempotent."""

    product_id: str
    quantity: int
    request_id: str


class ProductArrivedBackInStock(Fact):
    product_id: str
    quantity: int
    request_id: str


class ItemBackInStockForOrder(Fact):
    """A waiting order item may now be taken; ``request_id`` names the delivery that woke it."""

    order_id: str
    product_id: str
    request_id: str


class OrderInventoryCheckCompleted(Fact):
    order_id: str


class OrderReadyForFulfilment(Fact):
    order_id: str


class OrderShipped(Fact):
    order_id: str
    shipment_id: str


class OrderCancelled(Fact):
    order_id: str
    reason: CancellationReason


EVENTS: tuple[type[Fact], ...] = (
    OrderAccepted,
    PaymentAuthorised,
    PaymentFailed,
    FraudCheckPassed,
    FraudCheckFailed,
    OrderItemsNotYetAccountedFor,
    ItemOutOfStockForOrder,
    ProductOutOfStock,
    ProductArrivedBackInStock,
    ItemBackInStockForOrder,
    OrderInventoryCheckCompleted,
    OrderReadyForFulfilment,
    OrderShipped,
    OrderCancelled,
)
"""Every event of the sample; each is a topic named after its class."""


def subscription(event: type[Fact], name: str) -> str:
    """The queue name of subscription ``name`` of ``event``'s topic: ``"OrderAccepted-Payment"``."""
    return f"{event.__name__}-{name}"
