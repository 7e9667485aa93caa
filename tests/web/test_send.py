"""``POST /api/send``: events into a running host, with the token only, validated when known."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from beehive import ActorHost, Event, discover
from beehive.queues.memory import InMemoryQueueOperator
from beehive.web import endpoint
from tests.web.conftest import TOKEN, Hosted, client_of

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SHIPPING = "Shipping@OrderPacked-Shipping"


async def test_sent_events_run_through_the_actors(hosted: Hosted) -> None:
    response = await hosted.client.post(
        "/api/send",
        json={"event_type": "OrderPlaced", "body": {"order_id": "o-7"}, "count": 3},
        headers=AUTH,
    )
    await hosted.operator.wait_idle(10)

    assert response.status_code == 202
    answer = response.json()
    assert answer["sent"] == 3
    assert len(set(answer["ids"])) == 3
    assert answer["readers"] == ["OrderPlaced-Audit", "OrderPlaced-Payment"]
    assert hosted.host.stats()[SHIPPING].succeeded == 3


async def test_properties_session_and_correlation_are_carried(hosted: Hosted) -> None:
    await hosted.operator.setup_queue("Unread-Peek")
    response = await hosted.client.post(
        "/api/send",
        json={
            "event_type": "Unread",
            "body": [1, "two"],
            "properties": {"tenant": "acme", "attempt": 2},
            "session_id": "s-1",
            "correlation_id": "c-1",
        },
        headers=AUTH,
    )

    assert response.status_code == 202
    assert response.json()["readers"] == [], "no actor of this host reads Unread"
    (sent,) = await hosted.operator.next("Unread-Peek")
    assert sent.body == '[1, "two"]'
    assert sent.properties == {"tenant": "acme", "attempt": 2}
    assert (sent.session_id, sent.correlation_id) == ("s-1", "c-1")


async def test_a_delay_schedules_the_events(hosted: Hosted) -> None:
    await hosted.operator.setup_queue("Later-Peek")
    response = await hosted.client.post(
        "/api/send", json={"event_type": "Later", "delay": 60, "count": 2}, headers=AUTH
    )

    assert response.status_code == 202
    depth = await hosted.operator.depth("Later-Peek")
    assert (depth.active, depth.scheduled) == (0, 2)


async def test_a_body_failing_the_events_model_is_a_422_and_nothing_is_sent(
    hosted: Hosted,
) -> None:
    response = await hosted.client.post(
        "/api/send", json={"event_type": "OrderPlaced", "body": {"declined": "maybe"}}, headers=AUTH
    )
    await hosted.operator.wait_idle(10)

    assert response.status_code == 422
    error = response.json()["error"]
    assert "OrderPlaced" in error
    assert "order_id: Field required" in error
    assert "declined: Input should be a valid boolean" in error
    assert hosted.host.stats()["Payment@OrderPlaced-Payment"].received == 0


@pytest.mark.parametrize(
    ("request_body", "status", "says"),
    [
        ({"body": {}}, 422, "event_type: Field required"),
        ({"event_type": "Order-Placed"}, 422, "invalid topic name"),
        ({"event_type": "OrderPlaced", "count": 0}, 422, "count"),
        ({"event_type": "OrderPlaced", "delay": -1}, 422, "delay"),
        ({"event_type": "OrderPlaced", "priority": 1}, 422, "priority: Extra inputs"),
        ([1, 2], 422, "valid dictionary"),
    ],
)
async def test_malformed_sends_say_what_is_wrong(
    hosted: Hosted, request_body: object, status: int, says: str
) -> None:
    response = await hosted.client.post("/api/send", json=request_body, headers=AUTH)

    assert response.status_code == status
    assert says in response.json()["error"]


@pytest.mark.parametrize(
    "delay", [b"1e308", b"Infinity", b"NaN", b"-1", str(366 * 24 * 3600).encode()]
)
async def test_a_delay_past_a_year_or_not_a_number_is_a_422_not_a_500(
    hosted: Hosted, delay: bytes
) -> None:
    body = b'{"event_type": "OrderPlaced", "body": {"order_id": "o"}, "delay": ' + delay + b"}"

    response = await hosted.client.post("/api/send", content=body, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["error"].startswith("delay: ")


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}"])
async def test_without_the_token_nothing_is_sent(
    hosted: Hosted, authorization: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await hosted.client.post(
        "/api/send", json={"event_type": "OrderPlaced", "body": {"order_id": "o"}}, headers=headers
    )
    await hosted.operator.wait_idle(10)

    assert response.status_code == 401
    assert hosted.host.stats()["Payment@OrderPlaced-Payment"].received == 0
    assert TOKEN not in caplog.text


async def test_a_host_without_a_token_refuses_every_send(hosted: Hosted) -> None:
    host: ActorHost = hosted.host
    async with client_of(endpoint(host)) as client:
        response = await client.post(
            "/api/send", json={"event_type": "OrderPlaced"}, headers={"Authorization": "Bearer x"}
        )

    assert response.status_code == 403
    assert "BEEHIVE_DASHBOARD_TOKEN" in response.json()["error"]


class Unreachable(InMemoryQueueOperator):
    async def push_batch(self, events: Sequence[Event]) -> None:
        raise ConnectionError("broker away")


async def test_a_broker_that_refuses_is_a_503() -> None:
    host = ActorHost(Unreachable(), discover("tests.dashboard.shop"))
    async with client_of(endpoint(host, token=TOKEN)) as client:
        response = await client.post(
            "/api/send", json={"event_type": "OrderPlaced", "body": {"order_id": "o"}}, headers=AUTH
        )

    assert response.status_code == 503
    assert response.json() == {"error": "the broker did not take the events: ConnectionError"}


async def test_a_topic_the_broker_does_not_have_is_a_404(hosted: Hosted) -> None:
    response = await hosted.client.post("/api/send", json={"event_type": "Nowhere"}, headers=AUTH)

    assert response.status_code == 404
    assert "no topic or queue named 'Nowhere'" in response.json()["error"]
