"""The models, in a module of their own."""

from __future__ import annotations

from pydantic import BaseModel


class Address(BaseModel):
    street: str
    city: str


class OrderPlaced(BaseModel):
    order_id: str
    address: Address


class Shipped(BaseModel):
    """An order left the warehouse."""

    order_id: str
    carrier: str
