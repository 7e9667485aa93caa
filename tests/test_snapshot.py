"""Schema snapshots: which changes break the events in flight, which are compatible."""

from __future__ import annotations

from enum import Enum
from typing import Any

import pytest
from pydantic import BaseModel

from beehive import ExternalEvents, Upcasters, event_version
from beehive.contract import build
from beehive.snapshot import compare, snapshot


def snap(*models: type[BaseModel]) -> dict[str, Any]:
    return snapshot(build([], [ExternalEvents(inputs=models)]))


def changes(
    old: type[BaseModel], new: type[BaseModel], upcasters: Upcasters | None = None
) -> list[str]:
    return [str(c) for c in compare(snap(old), snap(new), upcasters)]


class Line(BaseModel):
    product_id: str
    quantity: int


class Order(BaseModel):
    order_id: str
    total: float
    note: str | None = None
    lines: list[Line] = []


def test_the_same_models_have_no_change() -> None:
    assert changes(Order, Order) == []


def test_a_field_removed_or_renamed_is_breaking() -> None:
    class Order(BaseModel):
        id: str
        total: float
        note: str | None = None
        lines: list[Line] = []

    assert changes(globals()["Order"], Order) == [
        "Order: breaking: field order_id removed (or renamed): events in flight still carry it",
        "Order: breaking: field id added without a default: events in flight do not have it",
    ]


def test_an_optional_field_added_is_compatible_a_required_one_is_not() -> None:
    class Order(BaseModel):
        order_id: str
        total: float
        note: str | None = None
        lines: list[Line] = []
        currency: str = "EUR"
        customer_id: str

    assert changes(globals()["Order"], Order) == [
        "Order: compatible: optional field currency added",
        "Order: breaking: field customer_id added without a default: events in flight do not "
        "have it",
    ]


def test_a_narrowed_type_is_breaking_a_widened_one_compatible() -> None:
    class Order(BaseModel):
        order_id: str | int
        total: int
        note: str
        lines: list[Line] = []

    assert changes(globals()["Order"], Order) == [
        "Order: compatible: field order_id also accepts integer",
        "Order: breaking: field total no longer accepts number (integer | number -> integer)",
        "Order: breaking: field note is now required: events in flight may not have it",
        "Order: breaking: field note no longer accepts null (null | string -> string)",
    ]


class Card(BaseModel):
    number: str


class Cash(BaseModel):
    amount: float


class Paid(BaseModel):
    totals: dict[str, float]
    pair: tuple[int, str]
    method: Card | Cash


def test_narrowed_dict_values_tuple_items_and_union_members_are_breaking() -> None:
    class Cash(BaseModel):
        amount: int

    class Paid(BaseModel):
        totals: dict[str, int]
        pair: tuple[int, int]
        method: Card | Cash

    assert changes(globals()["Paid"], Paid) == [
        "Paid: breaking: field totals{} no longer accepts number (integer | number -> integer)",
        "Paid: breaking: field pair[1] no longer accepts string (string -> integer)",
        "Paid: breaking: field method.amount no longer accepts number (integer | number -> "
        "integer)",
    ]


def test_a_union_member_dropped_is_breaking_one_renamed_alike_is_not() -> None:
    class Coin(BaseModel):  # Cash renamed, the same fields
        amount: float

    class Paid(BaseModel):
        totals: dict[str, float]
        pair: tuple[int, str]
        method: Card | Coin

    renamed = Paid

    class Paid(BaseModel):  # type: ignore[no-redef]
        totals: dict[str, float]
        pair: tuple[int, str]
        method: Card

    assert changes(globals()["Paid"], renamed) == [
        "Paid: compatible: field method takes Cash as Coin"
    ]
    assert changes(globals()["Paid"], Paid) == [
        "Paid: breaking: field method no longer accepts Cash"
    ]
    assert changes(Paid, globals()["Paid"]) == ["Paid: compatible: field method also accepts Cash"]


class Category(BaseModel):
    name: str
    children: list[Category] = []


def test_a_recursive_model_is_compared_once_per_level() -> None:
    class Category(BaseModel):
        name: str | None
        children: list[Category] = []

    assert changes(globals()["Category"], globals()["Category"]) == []
    assert changes(globals()["Category"], Category) == [
        "Category: compatible: field name also accepts null",
    ]
    assert changes(Category, globals()["Category"]) == [
        "Category: breaking: field name no longer accepts null (null | string -> string)",
    ]


def test_changes_inside_nested_models_name_the_path() -> None:
    class Line(BaseModel):
        product_id: str

    class Order(BaseModel):
        order_id: str
        total: float
        note: str | None = None
        lines: list[Line] = []

    assert changes(globals()["Order"], Order) == [
        "Order: breaking: field lines[].quantity removed (or renamed): events in flight still "
        "carry it",
    ]


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


def test_enum_values_dropped_and_tighter_constraints_are_breaking() -> None:
    class Paint(BaseModel):
        colour: Colour
        litres: int

    old = Paint

    class Colour2(Enum):
        RED = "red"

    from pydantic import Field

    class Paint(BaseModel):
        colour: Colour2
        litres: int = Field(gt=0)

    assert changes(old, Paint) == [
        "Paint: breaking: field colour no longer accepts ['blue']",
        "Paint: breaking: field litres has a tighter exclusiveMinimum: none -> 0",
    ]


def test_a_version_bump_bridged_by_upcasters_is_compatible() -> None:
    @event_version(2)
    class Order(BaseModel):
        order_id: str
        total_cents: int

    bridge = Upcasters()
    bridge.add(Order, 1, lambda body: {"order_id": body["order_id"], "total_cents": 0})

    assert changes(globals()["Order"], Order, bridge) == [
        "Order: compatible: version 1 -> 2, upcasters bridge it",
        "Order: compatible: field total removed (or renamed): events in flight still carry it "
        "(upcast from version 1)",
        "Order: compatible: field note removed (or renamed): events in flight still carry it "
        "(upcast from version 1)",
        "Order: compatible: field lines removed (or renamed): events in flight still carry it "
        "(upcast from version 1)",
        "Order: compatible: field total_cents added without a default: events in flight do not "
        "have it (upcast from version 1)",
    ]
    assert changes(globals()["Order"], Order)[0] == (
        "Order: breaking: version 1 -> 2 with no upcaster from version 1: events in flight "
        "cannot be read"
    )


def test_event_types_removed_are_breaking_added_compatible() -> None:
    class Refund(BaseModel):
        order_id: str

    assert [str(c) for c in compare(snap(Order), snap(Refund))] == [
        "Order: breaking: event type removed: nothing reads its events",
        "Refund: compatible: event type added",
    ]


def test_something_else_than_a_snapshot_is_refused() -> None:
    with pytest.raises(ValueError, match="not a beehive schema snapshot"):
        compare({"openapi": "3.1"}, snap(Order))
