"""Fraud check and cancellation: one verdict per order; a failure cancels the order once."""

from __future__ import annotations

import pytest

from beehive import Event
from samples.prismo.actors.cancellation import CancelOrderActor
from samples.prismo.actors.fraud import FraudCheckActor
from samples.prismo.events import (
    FraudCheckFailed,
    FraudCheckPassed,
    OrderCancelled,
    PaymentAuthorised,
    PaymentFailed,
)
from tests.samples.prismo.conftest import Hive, Shop


@pytest.mark.parametrize(("rate", "verdict"), [(0.0, FraudCheckPassed), (1.0, FraudCheckFailed)])
async def test_the_fraud_checker_decides(
    shop: Shop, hive: Hive, rate: float, verdict: type
) -> None:
    shop.container.fraud_checker().fraud_rate = rate
    authorised = Event(PaymentAuthorised(order_id="o-1", payment_reference="pay-o-1"))
    async with hive(FraudCheckActor) as h:
        await h.publish(authorised, authorised)
        await h.wait_idle()

    assert [e.event_type for e in h.published() if e.event_type.startswith("Fraud")] == [
        verdict.__name__
    ]
    assert shop.container.fraud_checker().assessed["o-1"] == 1


async def test_a_fraud_verdict_cancels_the_order(shop: Shop, hive: Hive) -> None:
    """The original's misspelt ``FrauCheckFailed-CancelOrder`` made this dead code."""
    shop.container.fraud_checker().fraud_rate = 1.0
    await shop.order("o-1", product_01=1)
    async with hive(FraudCheckActor, CancelOrderActor) as h:
        await h.publish(Event(PaymentAuthorised(order_id="o-1", payment_reference="pay-o-1")))
        await h.wait_idle()

    assert h.published_bodies(OrderCancelled) == [OrderCancelled(order_id="o-1", reason="fraud")]
    order = await shop.stores.orders.get("o-1")
    assert (order.cancelled, order.cancellation_reason) == (True, "fraud")


async def test_an_order_is_cancelled_once_for_the_first_reason(shop: Shop, hive: Hive) -> None:
    await shop.order("o-1", product_01=1)
    failed = Event(PaymentFailed(order_id="o-1", reason="declined"))
    async with hive(CancelOrderActor) as h:
        await h.publish(failed, failed)
        await h.wait_idle()
        await h.publish(Event(FraudCheckFailed(order_id="o-1", reason="stolen card")))
        await h.wait_idle()

    assert h.published_bodies(OrderCancelled) == [OrderCancelled(order_id="o-1", reason="payment")]
    assert (await shop.stores.orders.get("o-1")).cancellation_reason == "payment"
