"""Replenishment: park, order once per request, wake the orders a delivery can serve."""

from __future__ import annotations

from beehive import Event
from samples.prismo.actors.replenishment import (
    ActionParkedOrdersActor,
    ParkOrderItemActor,
    ReplenishStockActor,
)
from samples.prismo.events import (
    ItemBackInStockForOrder,
    ItemOutOfStockForOrder,
    ProductArrivedBackInStock,
    ProductOutOfStock,
)
from tests.samples.prismo.conftest import Hive, Shop


async def waiting(shop: Shop, order_id: str, **quantities: int) -> None:
    """An order whose lines all wait for stock, as the inventory check leaves them."""
    order = await shop.order(order_id, **quantities)
    await shop.inventory.open(order)
    for line in order.lines:
        await shop.inventory.wait_for_stock(order_id, line.product_id)


def short(order_id: str, quantity: int) -> Event:
    return Event(
        ItemOutOfStockForOrder(
            order_id=order_id,
            product_id="product-01",
            quantity=quantity,
            request_id=f"{order_id}/product-01/1",
        )
    )


async def test_a_short_item_is_queued_and_stock_requested_once(shop: Shop, hive: Hive) -> None:
    await waiting(shop, "o-1", product_01=12)
    async with hive(ParkOrderItemActor) as h:
        await h.publish(short("o-1", 12), short("o-1", 12))
        await h.wait_idle()

    assert h.published_bodies(ProductOutOfStock) == [
        ProductOutOfStock(product_id="product-01", quantity=12, request_id="o-1/product-01/1")
    ]
    assert [w.id async for w in shop.inventory.waiting_for("product-01")] == ["o-1"]


async def test_a_cancelled_order_is_not_parked(shop: Shop, hive: Hive) -> None:
    await waiting(shop, "o-1", product_01=12)
    await shop.inventory.cancel("o-1")
    async with hive(ParkOrderItemActor) as h:
        await h.publish(short("o-1", 12))
        await h.wait_idle()

    assert h.published(ProductOutOfStock) == []
    assert [w async for w in shop.inventory.waiting_for("product-01")] == []


async def test_stock_is_ordered_once_per_request(shop: Shop, hive: Hive) -> None:
    wanted = Event(ProductOutOfStock(product_id="product-01", quantity=5, request_id="o-1/p/1"))
    async with hive(ReplenishStockActor) as h:
        await h.publish(wanted, wanted)
        await h.wait_idle()

    assert await shop.stock("product-01") == 10 + 5 + 2  # the supplier's margin
    assert h.published_bodies(ProductArrivedBackInStock) == [
        ProductArrivedBackInStock(product_id="product-01", quantity=7, request_id="o-1/p/1")
    ]
    assert list(shop.container.supplier().deliveries) == ["o-1/p/1"]


async def test_a_delivery_wakes_its_requester_and_whom_its_margin_serves(
    shop: Shop, hive: Hive
) -> None:
    for order_id, quantity in [("o-1", 5), ("o-2", 2), ("o-3", 1), ("o-4", 4)]:
        await shop.inventory.queue("product-01", order_id, quantity)
    arrived = ProductArrivedBackInStock(product_id="product-01", quantity=8, request_id="o-4/x/1")
    async with hive(ActionParkedOrdersActor) as h:
        await h.publish(Event(arrived))
        await h.wait_idle()

    woken = [b.order_id for b in h.published_bodies(ItemBackInStockForOrder)]
    assert woken == ["o-4", "o-2", "o-3"]  # 4 for the requester, then what 4 more units serve
