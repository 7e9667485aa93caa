"""Whatever a client POSTs to a write route, the answer is a 2xx or a 4xx saying what was
wrong, never a 500 (hypothesis writes the bodies)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beehive import ActorHost, discover
from beehive.backoff import Backoff
from beehive.dashboard import Dashboard
from beehive.queues.memory import InMemoryQueueOperator
from beehive.web import endpoint
from tests.web.conftest import TOKEN, client_of

AUTH = {"Authorization": f"Bearer {TOKEN}"}

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
"""Any JSON value, NaN and the infinities included (Python's json reads and writes them)."""

sends = st.fixed_dictionaries(
    {},
    optional={
        "event_type": st.sampled_from(["OrderPlaced", "Unread", "Order-Placed", ""]) | values,
        "body": st.fixed_dictionaries({"order_id": values, "declined": values}) | values,
        "properties": st.dictionaries(st.text(max_size=6), values, max_size=3) | values,
        "session_id": values,
        "correlation_id": values,
        "count": st.integers(-2, 12) | values,
        "delay": st.floats() | st.integers(-(2**70), 2**70) | values,
        "priority": values,
    },
)
replays = st.fixed_dictionaries(
    {},
    optional={"queue": st.sampled_from(["OrderPlaced-Payment", "Nowhere"]) | values, "id": values},
)


def encoded(value: Any) -> bytes:
    return json.dumps(value).encode()


bodies = st.one_of(
    st.tuples(
        st.just("/api/send"), sends.map(encoded) | values.map(encoded) | st.binary(max_size=64)
    ),
    st.tuples(st.just("/api/replay"), replays.map(encoded) | values.map(encoded)),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(bodies, min_size=1, max_size=4))
async def test_every_write_answers_2xx_or_4xx_with_its_reason(
    caplog: pytest.LogCaptureFixture, requests: list[tuple[str, bytes]]
) -> None:
    operator = InMemoryQueueOperator()
    host = ActorHost(
        operator, discover("tests.dashboard.shop"), poll_wait=0.1, backoff=Backoff(0.01, 2, 0.05)
    )
    app = endpoint(host, dashboard=Dashboard(host, token=TOKEN))
    async with operator, host, client_of(app) as client:
        for path, body in requests:
            response = await client.post(path, content=body, headers=AUTH)

            assert response.status_code < 500, (path, body, response.text)
            if response.status_code >= 400:
                assert isinstance(response.json().get("error"), str), response.text
        await operator.wait_idle(10)

    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
