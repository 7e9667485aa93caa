"""``--publish-only``'s watch: it outlasts stores that fail for a while."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator

import pytest

from beehive.stores import InMemoryCollectionStore
from samples.prismo.brokers import BackendUnavailable
from samples.prismo.entities import Order, OrderLine, Shipment
from samples.prismo.publish import watch
from samples.prismo.stores import Stores


class Flaky(InMemoryCollectionStore[Shipment]):
    """Shipments whose first ``failures`` listings fail as an unreachable service's would."""

    def __init__(self, failures: int) -> None:
        super().__init__(Shipment)
        self.failures = failures

    async def _list_or_fail(self) -> AsyncIterator[Shipment]:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("injected: the stores are restarting")
        async for shipment in super()._list():
            yield shipment

    def _list(self) -> AsyncIterator[Shipment]:
        return self._list_or_fail()


async def test_the_watch_survives_a_transient_store_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stores = dataclasses.replace(Stores.in_memory(), shipments=Flaky(failures=2))
    line = OrderLine(product_id="p-1", quantity=1)
    order = Order(
        id="order-1",
        customer_id="c-1",
        lines=(line,),
        total_cents=100,
        payment_method="card",
        shipping_address="1 Hive Lane",
    )
    await stores.orders.insert(order)

    with caplog.at_level(logging.WARNING, logger="samples.prismo.publish"):
        pending = await watch(stores, timeout=0.5, poll=0.01)

    assert pending == {"order-1"}  # read at last: unsettled (nothing shipped or emailed)
    assert caplog.text.count("reading the stores failed, trying again") == 2


async def test_the_watch_ends_when_the_stores_never_answer() -> None:
    stores = dataclasses.replace(Stores.in_memory(), shipments=Flaky(failures=10**6))

    with pytest.raises(BackendUnavailable, match="restarting"):
        await watch(stores, timeout=0.2, poll=0.01)
