from __future__ import annotations

from pydantic import BaseModel


class OrderAccepted(BaseModel):
    order_id: str


class PaymentAuthorised(BaseModel):
    order_id: str
    payment_id: str


class OrderShipped(BaseModel):
    order_id: str
