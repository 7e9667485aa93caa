"""What happens in the shop, and what it keeps."""

from __future__ import annotations

from pydantic import BaseModel


class OrderPlaced(BaseModel):
    order_id: str
    total: float


class OrderConfirmed(BaseModel):
    order_id: str


class Order(BaseModel):
    id: str
    total: float
    confirmed: bool = False
