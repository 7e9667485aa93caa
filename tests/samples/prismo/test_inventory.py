"""Inventory: items leave stock once, short items wait, cancellation gives everything back."""

from __future__ import annotations

from beehive import Event
from beehive.stores import InMemoryCounterStore
from samples.prismo.actors.inventory import (
    InventoryCheckActor,
    InventoryDecrementActor,
    ProcessOrderActor,
    RestockActor,
)
from samples.prismo.entities import OrderLine
from samples.prismo.events import (
    ItemBackInStockForOrder,
    ItemOutOfStockForOrder,
    OrderCancelled,
    OrderInventoryCheckCompleted,
    OrderItemsNotYetAccountedFor,
    PaymentAuthorised,
    ProductOutOfStock,
)
from samples.prismo.inventory import Inventory
from tests.samples.prismo.conftest import Hive, Shop

CHECK = (InventoryDecrementActor, InventoryCheckActor)


def paid(order_id: str) -> Event:
    return Event(PaymentAuthorised(order_id=order_id, payment_reference=f"pay-{order_id}"))


async def test_items_in_stock_are_taken_one_by_one_then_the_check_completes(
    shop: Shop, hive: Hive
) -> None:
    await shop.order("o-1", product_01=3, product_02=10)
    async with hive(*CHECK) as h:
        await h.publish(paid("o-1"))
        await h.wait_idle()

    assert [len(c.items) for c in h.published_bodies(OrderItemsNotYetAccountedFor)] == [2, 1]
    assert h.published_bodies(OrderInventoryCheckCompleted) == [
        OrderInventoryCheckCompleted(order_id="o-1")
    ]
    assert (await shop.stock("product-01"), await shop.stock("product-02")) == (7, 0)


async def test_a_short_item_waits_without_stalling_the_rest(shop: Shop, hive: Hive) -> None:
    """The original stopped at a TODO here; now the item waits and the others are taken."""
    await shop.order("o-1", product_01=11, product_02=2)
    async with hive(*CHECK) as h:
        await h.publish(paid("o-1"))
        await h.wait_idle()

    (short,) = h.published_bodies(ItemOutOfStockForOrder)
    assert (short.product_id, short.quantity, short.request_id) == (
        "product-01",
        11,
        "o-1/product-01/1",
    )
    assert h.published(OrderInventoryCheckCompleted) == []
    assert (await shop.stock("product-01"), await shop.stock("product-02")) == (10, 8)
    ledger = await shop.inventory.ledger("o-1")
    assert {p: line.status for p, line in ledger.lines.items()} == {
        "product-01": "waiting",
        "product-02": "taken",
    }


async def test_the_same_item_check_twice_takes_stock_once(shop: Shop, hive: Hive) -> None:
    await shop.order("o-1", product_01=4)
    await shop.inventory.open(await shop.stores.orders.get("o-1"))
    check = Event(
        OrderItemsNotYetAccountedFor(
            order_id="o-1", items=(OrderLine(product_id="product-01", quantity=4),)
        )
    )
    async with hive(InventoryCheckActor) as h:
        await h.publish(check, check)
        await h.wait_idle()

    assert await shop.stock("product-01") == 6
    assert len(h.published(OrderInventoryCheckCompleted)) == 1


async def test_a_waiting_item_takes_its_stock_when_it_comes_back(shop: Shop, hive: Hive) -> None:
    """The original marked parked items ready without ever taking them out of stock."""
    await shop.order("o-1", product_01=12)
    async with hive(*CHECK, ProcessOrderActor) as h:
        await h.publish(paid("o-1"))
        await h.wait_idle()
        await shop.inventory.queue("product-01", "o-1", 12)
        await shop.inventory.receive("product-01", 5)
        back = ItemBackInStockForOrder(
            order_id="o-1", product_id="product-01", request_id="o-1/product-01/1"
        )
        await h.publish(Event(back), Event(back))
        await h.wait_idle()

    assert await shop.stock("product-01") == 3
    assert len(h.published(OrderInventoryCheckCompleted)) == 1
    assert [w async for w in shop.inventory.waiting_for("product-01")] == []


async def test_a_waiting_item_still_short_asks_again_only_for_its_own_delivery(
    shop: Shop, hive: Hive
) -> None:
    await shop.order("o-1", product_01=12)
    async with hive(*CHECK, ProcessOrderActor) as h:
        await h.publish(paid("o-1"))
        await h.wait_idle()
        for request in ("o-2/product-01/1", "o-1/product-01/1"):  # someone else's, then its own
            back = ItemBackInStockForOrder(
                order_id="o-1", product_id="product-01", request_id=request
            )
            await h.publish(Event(back))
            await h.wait_idle()

    assert h.published_bodies(ProductOutOfStock) == [
        ProductOutOfStock(product_id="product-01", quantity=12, request_id="o-1/product-01/2")
    ]
    assert await shop.stock("product-01") == 10


async def test_cancellation_gives_back_what_was_taken_once_and_drops_the_waits(
    shop: Shop, hive: Hive
) -> None:
    await shop.order("o-1", product_01=3, product_02=11)
    cancelled = Event(OrderCancelled(order_id="o-1", reason="fraud"))
    async with hive(*CHECK, RestockActor) as h:
        await h.publish(paid("o-1"))
        await h.wait_idle()
        await shop.inventory.queue("product-02", "o-1", 11)
        await h.publish(cancelled, cancelled)
        await h.wait_idle()

    assert (await shop.stock("product-01"), await shop.stock("product-02")) == (10, 10)
    ledger = await shop.inventory.ledger("o-1")
    assert ledger.cancelled
    assert {line.status for line in ledger.lines.values()} == {"returned", "dropped"}
    assert [w async for w in shop.inventory.waiting_for("product-02")] == []


async def test_a_cancellation_before_the_inventory_check_stops_it(shop: Shop, hive: Hive) -> None:
    await shop.order("o-1", product_01=3)
    async with hive(*CHECK, RestockActor) as h:
        await h.publish(Event(OrderCancelled(order_id="o-1", reason="fraud")))
        await h.wait_idle()
        await h.publish(paid("o-1"))
        await h.wait_idle()

    assert h.published(OrderItemsNotYetAccountedFor) == []
    assert await shop.stock("product-01") == 10


class CancelsMidTake(InMemoryCounterStore):
    """Stock whose first decrement lets a cancellation of ``order_id`` run before returning."""

    def __init__(self, order_id: str) -> None:
        super().__init__()
        self.order_id = order_id
        self.inventory: Inventory | None = None

    async def _increment(self, counter_name: str, id: str, by: int, floor: int | None) -> int:
        value = await super()._increment(counter_name, id, by, floor)
        inventory, self.inventory = self.inventory, None
        if by < 0 and inventory is not None:
            await inventory.cancel(self.order_id)
        return value


async def test_a_cancellation_between_taking_stock_and_recording_it_gets_the_stock_back(
    shop: Shop,
) -> None:
    counters = CancelsMidTake("o-1")
    inventory = Inventory(counters, shop.stores.stock_ledgers, shop.stores.queued_orders)
    await inventory.receive("product-01", 10)
    await inventory.open(await shop.order("o-1", product_01=4))
    counters.inventory = inventory

    take = await inventory.take("o-1", "product-01")

    assert take.outcome == "settled"
    assert await inventory.in_stock("product-01") == 10
    assert (await inventory.ledger("o-1")).cancelled
