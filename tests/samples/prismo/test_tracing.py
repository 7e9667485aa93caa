"""Tracing: every event is logged with its correlation, and nothing is published."""

from __future__ import annotations

import logging

import pytest

from beehive import Event
from samples.prismo.actors.tracing import TracingActor
from samples.prismo.events import OrderAccepted, OrderShipped
from tests.samples.prismo.conftest import Hive


async def test_every_event_is_logged(hive: Hive, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="samples.prismo.trace")
    events = [
        Event(OrderAccepted(order_id="o-1"), correlation_id="o-1"),
        Event(OrderShipped(order_id="o-1", shipment_id="o-1"), correlation_id="o-1"),
    ]
    async with hive(TracingActor) as h:
        await h.publish(*events)
        await h.wait_idle()

    lines = sorted(r.getMessage() for r in caplog.records if r.name == "samples.prismo.trace")
    assert [line.split()[0] for line in lines] == ["OrderAccepted", "OrderShipped"]
    assert all("correlation=o-1" in line for line in lines)
    assert h.published() == events
