"""``beehive run`` gives the host the Upcasters it finds in the modules it runs."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from beehive import Event, discover
from beehive.cli import parse
from beehive.cli.run import serve
from beehive.testing import RecordingQueueOperator
from tests.cli.test_run import DEADLINE, endpoint_port, wait_for
from tests.networks.versioned import Billed

APP = "tests.networks.versioned"


async def test_old_events_are_upcast_and_future_ones_dead_lettered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="beehive")
    operator = RecordingQueueOperator()
    args = parse(["run", APP, "--host", "127.0.0.1", "--port", "0", "--poll-wait", "0.2"])
    running = asyncio.create_task(serve(args, discover(APP), None, operator))
    await wait_for(await endpoint_port(caplog), "/readyz", 200)
    old = Event(event_type="OrderPlaced", body='{"order_id": "o-1", "total": 12.5}')
    future = Event(event_type="OrderPlaced", body="{}", properties={"event_version": 3})

    await operator.push_batch([old, future])
    await operator.wait_idle(timeout=DEADLINE)
    dead = await operator.dead_letters("OrderPlaced-Billing")
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(running, DEADLINE) == 0

    billed = [e.body_as(Billed) for e in operator.published if e.event_type == "Billed"]
    assert billed == [Billed(order_id="o-1", total_cents=1250)]
    assert [e.id for e in dead] == [future.id]
    assert "is version 3, newer than OrderPlaced here (version 2)" in str(
        dead[0].properties["dead_letter_reason"]
    )
