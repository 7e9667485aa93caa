"""Fulfilment: the scatter-gather gate opens once; an order ships once and is emailed once."""

from __future__ import annotations

import dataclasses

import pytest

from beehive import Event, discover
from beehive.testing import ActorHarness
from samples.prismo.actors.fulfilment import FulfilmentActor, FulfilmentGateActor, arrive
from samples.prismo.actors.notification import EmailActor
from samples.prismo.entities import FulfilmentGate
from samples.prismo.events import (
    FraudCheckPassed,
    OrderInventoryCheckCompleted,
    OrderReadyForFulfilment,
    OrderShipped,
)
from samples.prismo.stores import Stores
from tests.samples.prismo.conftest import Hive, Shop
from tests.samples.prismo.flaky import FailsFirstPublish, YieldingCollectionStore


def fraud_passed(order_id: str) -> Event:
    return Event(FraudCheckPassed(order_id=order_id))


def stock_reserved(order_id: str) -> Event:
    return Event(OrderInventoryCheckCompleted(order_id=order_id))


def test_the_last_branch_to_arrive_opens_the_gate() -> None:
    gate = FulfilmentGate(id="o-1")
    half = arrive(gate, "stock")
    assert (half.stock_reserved, half.opened_by) == (True, None)
    assert arrive(half, "stock") is half
    assert arrive(half, "fraud").opened_by == "fraud"


@pytest.mark.parametrize("first", ["fraud", "stock"])
async def test_one_branch_is_not_enough_both_release_the_order_once(
    shop: Shop, hive: Hive, first: str
) -> None:
    """The original shipped on stock alone, racing a fraud check about to cancel."""
    branches = [fraud_passed("o-1"), stock_reserved("o-1")]
    if first == "stock":
        branches.reverse()
    async with hive(FulfilmentGateActor) as h:
        await h.publish(branches[0], branches[0])
        await h.wait_idle()
        assert h.published(OrderReadyForFulfilment) == []
        await h.publish(branches[1], branches[1])
        await h.wait_idle()

    assert h.published_bodies(OrderReadyForFulfilment) == [OrderReadyForFulfilment(order_id="o-1")]
    assert (await shop.stores.gates.get("o-1")).opened_by != first


async def test_racing_branches_under_etag_concurrency_release_each_order_once(shop: Shop) -> None:
    stores = dataclasses.replace(Stores.in_memory(), gates=YieldingCollectionStore(FulfilmentGate))
    racing = Shop(shop.scenario, stores)
    orders = [f"o-{n}" for n in range(50)]
    async with ActorHarness(discover(FulfilmentGateActor), container=racing.container) as h:
        await h.publish(*(e for o in orders for e in (fraud_passed(o), stock_reserved(o))))
        await h.wait_idle()

    released = sorted(r.order_id for r in h.published_bodies(OrderReadyForFulfilment))
    assert released == sorted(orders)


async def test_a_redelivery_of_the_opening_branch_releases_again(shop: Shop, hive: Hive) -> None:
    broker = FailsFirstPublish("OrderReadyForFulfilment")
    async with hive(FulfilmentGateActor, operator=broker, raise_errors=False) as h:
        await h.publish(fraud_passed("o-1"))
        await h.wait_idle()
        await h.publish(stock_reserved("o-1"))
        await h.wait_idle()

    assert broker.failed
    assert len(h.published(OrderReadyForFulfilment)) == 1


async def test_an_order_ships_once_and_is_emailed_once(shop: Shop, hive: Hive) -> None:
    await shop.order("o-1", product_01=2)
    ready = Event(OrderReadyForFulfilment(order_id="o-1"))
    async with hive(FulfilmentActor, EmailActor) as h:
        await h.publish(ready, ready)
        await h.wait_idle()
        (shipped,) = h.published(OrderShipped)
        await h.publish(shipped)  # and the shipping email's event once more
        await h.wait_idle()

    assert [s.id async for s in shop.stores.shipments.list()] == ["o-1"]
    (email,) = shop.container.emailer().sent
    assert (email.to, email.order_id) == ("customer1@example.com", "o-1")


async def test_a_cancelled_order_is_never_shipped(shop: Shop, hive: Hive) -> None:
    order = await shop.order("o-1", product_01=2)
    await shop.stores.orders.update(order.model_copy(update={"cancelled": True}))
    async with hive(FulfilmentActor) as h:
        await h.publish(Event(OrderReadyForFulfilment(order_id="o-1")))
        await h.wait_idle()

    assert h.published(OrderShipped) == []
    assert not await shop.stores.shipments.exists("o-1")
