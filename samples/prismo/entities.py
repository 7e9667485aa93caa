"""What Prismo keeps in its stores: pydantic entities, identified by ``id``.

Entities with ``etag`` and ``last_modified`` fields are concurrency-aware: the stores fill both
and refuse a write carrying a stale ``etag``. Ids are business keys (an order's payment,
shipment and email all have the order's id), which is what makes the actors idempotent: a
second attempt finds the first one's record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Entity(BaseModel):
    """Base of every Prismo entity: immutable values, changed with ``model_copy``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str


class Versioned(Entity):
    """An entity updated under ETag concurrency."""

    etag: str | None = None
    last_modified: datetime | None = None


class OrderLine(BaseModel):
    """A product and how many of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: str
    quantity: int = Field(gt=0)


class Customer(Entity):
    name: str
    email: str


class Product(Entity):
    name: str
    price_cents: int


CancellationReason = Literal["payment", "fraud"]


class Order(Versioned):
    customer_id: str
    lines: tuple[OrderLine, ...] = Field(min_length=1)
    total_cents: int
    payment_method: str
    shipping_address: str
    cancelled: bool = False
    cancellation_reason: CancellationReason | None = None


class Payment(Versioned):
    """The gateway's answer for an order (id: the order id)."""

    reference: str
    amount_cents: int
    status: Literal["authorised", "declined", "refunded"]
    decline_reason: str | None = None


class FraudAssessment(Entity):
    """The fraud checker's verdict on an order (id: the order id)."""

    suspicious: bool
    reason: str | None = None


LineStatus = Literal["pending", "taken", "waiting", "returned", "dropped"]
"""``pending``: not looked at yet; ``taken`` out of stock; ``waiting`` for a delivery;
``returned`` to stock by a cancellation; ``dropped``: cancelled while pending or waiting."""


class StockLine(BaseModel):
    """One product of an order, as the inventory sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: int
    status: LineStatus = "pending"
    requests: int = 0
    """How many replenishments this line asked for; the last one is outstanding while waiting."""


class OrderStock(Versioned):
    """An order's stock ledger (id: the order id): what it took, what it waits for.

    Every stock step of an order is a conditional write of this one entity, so a cancellation
    (which closes the ledger) and an item being taken cannot both win: the loser sees the other.
    """

    lines: dict[str, StockLine] = Field(default_factory=dict)
    cancelled: bool = False

    @property
    def complete(self) -> bool:
        """Every line is taken (and the order was not cancelled)."""
        return bool(self.lines) and all(line.status == "taken" for line in self.lines.values())

    def with_line(self, product_id: str, **changes: object) -> OrderStock:
        line = self.lines[product_id].model_copy(update=changes)
        return self.model_copy(update={"lines": {**self.lines, product_id: line}})


def request_id(order_id: str, product_id: str, number: int) -> str:
    """The id of replenishment request ``number`` made for one order line."""
    return f"{order_id}/{product_id}/{number}"


def order_of(request_id: str) -> str:
    """The order a replenishment request was made for."""
    return request_id.partition("/")[0]


class OrderWaitingForProduct(Entity):
    """An order queued for a product (keyed list ``OrderQueuedForProduct``; id: the order id)."""

    quantity: int


class Replenishment(Entity):
    """Stock received from the supplier for one request (id: the request id)."""

    product_id: str
    quantity: int


class FulfilmentGate(Versioned):
    """Scatter-gather state of an order (id: the order id): one flag per branch.

    Both branches set their flag under ETag concurrency; the write that sets the last one
    records its branch in ``opened_by`` and publishes ``OrderReadyForFulfilment``: once.
    """

    fraud_checked: bool = False
    stock_reserved: bool = False
    opened_by: str | None = None


class Shipment(Entity):
    """The parcel for an order (id: the order id, so an order ships at most once)."""

    customer_id: str
    lines: tuple[OrderLine, ...]
    address: str


class EmailSent(Entity):
    """The shipping email of an order (id: the order id, so it is sent once)."""

    to: str
    subject: str
