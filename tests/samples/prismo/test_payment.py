"""Payment: authorise once per order, refund once per cancelled paid order."""

from __future__ import annotations

from beehive import Event
from samples.prismo.actors.payment import PaymentActor, RefundActor
from samples.prismo.events import OrderAccepted, OrderCancelled, PaymentAuthorised, PaymentFailed
from tests.samples.prismo.conftest import Hive, Shop
from tests.samples.prismo.flaky import FailsFirstPublish


async def test_an_authorised_payment_is_recorded_and_announced(shop: Shop, hive: Hive) -> None:
    await shop.order("o-1", product_01=1)
    async with hive(PaymentActor) as h:
        await h.publish(Event(OrderAccepted(order_id="o-1")))
        await h.wait_idle()

    (authorised,) = h.published_bodies(PaymentAuthorised)
    assert authorised.payment_reference == "pay-o-1"
    payment = await shop.stores.payments.get("o-1")
    assert (payment.status, payment.amount_cents) == ("authorised", 1000)


async def test_a_declined_payment_fails_the_order(shop: Shop, hive: Hive) -> None:
    shop.container.payment_gateway().failure_rate = 1.0
    await shop.order("o-1", product_01=1)
    async with hive(PaymentActor) as h:
        await h.publish(Event(OrderAccepted(order_id="o-1")))
        await h.wait_idle()

    assert [f.order_id for f in h.published_bodies(PaymentFailed)] == ["o-1"]
    assert h.published(PaymentAuthorised) == []
    assert (await shop.stores.payments.get("o-1")).status == "declined"


async def test_the_same_event_twice_charges_once(shop: Shop, hive: Hive) -> None:
    await shop.order("o-1", product_01=1)
    accepted = Event(OrderAccepted(order_id="o-1"))
    async with hive(PaymentActor) as h:
        await h.publish(accepted, accepted)
        await h.wait_idle()

    assert shop.container.payment_gateway().calls["authorise:o-1"] == 1
    assert len(h.published(PaymentAuthorised)) == 1


async def test_a_redelivery_after_a_failed_publish_republishes_without_charging(
    shop: Shop, hive: Hive
) -> None:
    await shop.order("o-1", product_01=1)
    broker = FailsFirstPublish("PaymentAuthorised")
    async with hive(PaymentActor, operator=broker, raise_errors=False) as h:
        await h.publish(Event(OrderAccepted(order_id="o-1")))
        await h.wait_idle()

    assert broker.failed
    assert shop.container.payment_gateway().calls["authorise:o-1"] == 1
    assert len(h.published(PaymentAuthorised)) == 1
    assert h.host.stats()["PaymentActor@OrderAccepted-Payment"].retried == 1


async def test_cancellation_refunds_an_authorised_payment_once(shop: Shop, hive: Hive) -> None:
    await shop.order("o-1", product_01=1)
    cancelled = Event(OrderCancelled(order_id="o-1", reason="fraud"))
    async with hive(PaymentActor, RefundActor) as h:
        await h.publish(Event(OrderAccepted(order_id="o-1")))
        await h.wait_idle()
        await h.publish(cancelled, cancelled)
        await h.wait_idle()

    gateway = shop.container.payment_gateway()
    assert gateway.calls["refund:o-1"] == 1
    assert gateway.refunds == {"refund:o-1": "pay-o-1"}
    assert (await shop.stores.payments.get("o-1")).status == "refunded"


async def test_a_declined_payment_is_not_refunded(shop: Shop, hive: Hive) -> None:
    shop.container.payment_gateway().failure_rate = 1.0
    await shop.order("o-1", product_01=1)
    async with hive(PaymentActor, RefundActor) as h:
        await h.publish(Event(OrderAccepted(order_id="o-1")))
        await h.wait_idle()
        await h.publish(Event(OrderCancelled(order_id="o-1", reason="payment")))
        await h.wait_idle()

    assert shop.container.payment_gateway().refunds == {}
