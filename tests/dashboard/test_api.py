"""The dashboard's routes, through the ASGI app: the page, the JSON API, replay and its token."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from beehive import ActorHost, discover
from beehive.backoff import Backoff
from beehive.cli import parse
from beehive.dashboard import Dashboard, Journal, Journey
from beehive.dashboard._graph import render
from beehive.queues.base import UNKNOWN_TIME
from beehive.queues.memory import InMemoryQueueOperator
from beehive.web import endpoint
from tests.dashboard.shop import placed

TOKEN = "api-test-token-7f3a"
PAYMENT = "OrderPlaced-Payment"


@dataclass
class Served:
    operator: InMemoryQueueOperator
    host: ActorHost
    client: httpx.AsyncClient


async def request(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, httpx.Headers, bytes]:
    response = await client.request(method, path, content=body, headers=headers)
    return response.status_code, response.headers, response.content


async def get_json(client: httpx.AsyncClient, path: str) -> Any:
    status, _, body = await request(client, "GET", path)
    assert status == 200, body
    return json.loads(body)


async def serve(
    token: str | None = None, journey: Journal | Journey | None = None
) -> AsyncIterator[Served]:
    operator = InMemoryQueueOperator()
    host = ActorHost(
        operator, discover("tests.dashboard.shop"), poll_wait=0.1, backoff=Backoff(0.01, 2, 0.05)
    )
    dashboard = Dashboard(host, token=token, journey=journey, refresh=0)
    app = endpoint(host, dashboard=dashboard)
    async with operator, host, client_of(app) as client:
        await operator.push_batch([placed("o-1"), placed("o-2", declined=True)])
        await operator.wait_idle(10)
        yield Served(operator, host, client)


def client_of(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://beehive")


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    async for each in serve(token=TOKEN):
        yield each


@pytest.fixture
async def read_only() -> AsyncIterator[Served]:
    async for each in serve():
        yield each


async def test_the_page_and_its_files_are_served_with_a_strict_policy(served: Served) -> None:
    status, headers, page = await request(served.client, "GET", "/")
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in headers["content-security-policy"]
    assert b'src="static/app.js"' in page, "relative: the page works wherever it is mounted"
    assert b"http" not in page.replace(b"http-equiv", b""), "nothing from elsewhere"
    for path in ("/static/app.js", "/static/app.css"):
        assert (await request(served.client, "GET", path))[0] == 200
    assert (await request(served.client, "GET", "/healthz"))[2] == b"ok\n", "probes still answer"
    assert (await request(served.client, "GET", "/nowhere"))[0] == 404


async def test_state_has_actors_queues_and_dead_letters(served: Served) -> None:
    state = await get_json(served.client, "/api/state")

    actors = {a["name"]: a for a in state["actors"]}
    assert actors[f"Payment@{PAYMENT}"]["succeeded"] == 1
    assert actors[f"Payment@{PAYMENT}"]["dead_lettered"] == 1
    assert actors["Shipping@OrderPacked-Shipping"]["succeeded"] == 1
    queues = {q["name"]: q for q in state["queues"]}
    assert queues[PAYMENT]["dead_lettered"] == 1
    assert queues[PAYMENT]["active"] == 0
    (dead,) = state["dead_letters"]
    assert dead["queue"] == PAYMENT
    assert dead["actor"] == f"Payment@{PAYMENT}"
    assert "card declined" in dead["reason"]
    assert (state["replay"], state["journal"], state["running"]) == (True, False, True)


async def test_graph_is_svg_with_every_actor(served: Served) -> None:
    status, headers, svg = await request(served.client, "GET", "/api/graph.svg")
    assert status == 200
    assert headers["content-type"] == "image/svg+xml"
    for name in ("Payment", "Warehouse", "Shipping", "Audit"):
        assert f'data-actor="{name}"'.encode() in svg


def test_graph_draws_prismo() -> None:
    svg = render(discover("samples.prismo.actors"))
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert svg.count('class="actor"') >= 10


async def test_replay_with_the_token_moves_the_dead_letter_back(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    (dead,) = await served.operator.dead_letters(PAYMENT)
    body = json.dumps({"queue": PAYMENT, "id": dead.id}).encode()

    status, _, answer = await request(
        served.client, "POST", "/api/replay", body, {"Authorization": f"Bearer {TOKEN}"}
    )
    await served.operator.wait_idle(10)

    assert (status, json.loads(answer)) == (200, {"replayed": 1})
    assert await served.operator.dead_letters(PAYMENT) == []
    assert served.host.stats()["Shipping@OrderPacked-Shipping"].succeeded == 2
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
)
async def test_replay_without_the_right_token_is_refused(
    served: Served, authorization: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    (dead,) = await served.operator.dead_letters(PAYMENT)
    headers = {"Authorization": authorization} if authorization else {}
    body = json.dumps({"queue": PAYMENT, "id": dead.id}).encode()

    status, _, _ = await request(served.client, "POST", "/api/replay", body, headers)

    assert status == 401
    assert len(await served.operator.dead_letters(PAYMENT)) == 1
    assert TOKEN not in caplog.text


async def test_a_read_only_dashboard_refuses_every_replay(read_only: Served) -> None:
    (dead,) = await read_only.operator.dead_letters(PAYMENT)
    body = json.dumps({"queue": PAYMENT, "id": dead.id}).encode()

    status, _, answer = await request(
        read_only.client, "POST", "/api/replay", body, {"Authorization": "Bearer anything"}
    )

    assert status == 403
    assert "BEEHIVE_DASHBOARD_TOKEN" in json.loads(answer)["error"]
    assert (await get_json(read_only.client, "/api/state"))["replay"] is False


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b'{"queue": "OrderPlaced-Payment"}', 400),
        (b'{"queue": "Else-Q", "id": "x"}', 404),
        (b'{"queue": "OrderPlaced-Payment", "id": "nope"}', 404),
    ],
)
async def test_bad_replay_requests(served: Served, body: bytes, status: int) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answered, _, answer = await request(served.client, "POST", "/api/replay", body, auth)

    assert answered == status
    assert json.loads(answer)["error"], "it says why"


async def test_replaying_a_dead_letter_no_longer_there_says_so(served: Served) -> None:
    body = json.dumps({"queue": PAYMENT, "id": "gone-already"}).encode()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    status, _, answer = await request(served.client, "POST", "/api/replay", body, auth)

    assert status == 404
    assert json.loads(answer) == {
        "replayed": 0,
        "error": f"no dead letter gone-already in {PAYMENT} (replayed or purged already?)",
    }


async def test_methods_are_checked(served: Served) -> None:
    assert (await request(served.client, "GET", "/api/replay"))[0] == 405
    assert (await request(served.client, "POST", "/api/state"))[0] == 405
    assert (await request(served.client, "DELETE", "/"))[0] == 405


async def test_journey_without_a_journal(served: Served) -> None:
    answer = await get_json(served.client, "/api/journey?correlation_id=o-1")
    assert answer == {"configured": False, "entries": []}


@dataclass(frozen=True)
class Step:
    timestamp: str
    event_type: str
    actor: str
    outcome: str


class Book:
    async def journey(self, correlation_id: str) -> Sequence[Any]:
        return [
            Step("2026-01-01T00:00:00+00:00", "OrderPlaced", "Payment", "succeeded"),
            {"timestamp": "2026-01-01T00:00:01+00:00", "event_type": "PaymentTaken"},
        ]


async def test_journey_from_a_journal() -> None:
    assert isinstance(Book(), Journal)
    async for served in serve(journey=Book()):
        answer = await get_json(served.client, "/api/journey?correlation_id=o-1")
        assert answer["configured"] is True
        assert answer["entries"][0]["actor"] == "Payment"
        assert answer["entries"][1]["event_type"] == "PaymentTaken"
        assert (await get_json(served.client, "/api/state"))["journal"] is True


def test_run_has_a_dashboard_flag_and_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEEHIVE_DASHBOARD", raising=False)
    assert parse(["run", "m"]).dashboard is False
    assert parse(["run", "m", "--dashboard"]).dashboard is True
    monkeypatch.setenv("BEEHIVE_DASHBOARD", "true")
    assert parse(["run", "m"]).dashboard is True


async def test_beehive_run_dashboard_serves_the_page_on_the_endpoint(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal

    from beehive.cli.run import serve as run_serve
    from tests.cli.test_run import endpoint_port

    caplog.set_level(logging.INFO, logger="beehive")
    monkeypatch.setenv("BEEHIVE_DASHBOARD_TOKEN", TOKEN)
    args = parse(
        ["run", "tests.dashboard.shop", "--host", "127.0.0.1", "--port", "0", "--dashboard"]
    )
    running = asyncio.create_task(run_serve(args, discover("tests.dashboard.shop"), None))
    port = await endpoint_port(caplog)

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        status, _, page = await request(client, "GET", "/")
        state = await get_json(client, "/api/state")
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(running, 10) == 0

    assert status == 200
    assert b"beehive dashboard" in page
    assert state["replay"] is True
    assert "dashboard on http://127.0.0.1" in caplog.text
    assert TOKEN not in caplog.text


async def test_a_journal_that_fails_is_a_503_not_a_500() -> None:
    async def broken(correlation_id: str) -> Sequence[Any]:
        raise ConnectionError("table storage is away")

    async for served in serve(journey=broken):
        status, _, body = await request(served.client, "GET", "/api/journey?correlation_id=o-1")
        assert status == 503
        assert json.loads(body) == {"error": "the journal could not be read: ConnectionError"}


async def test_a_dead_letter_without_a_time_has_an_unknown_age(served: Served) -> None:
    timeless = placed("o-3", declined=True).model_copy(update={"timestamp": UNKNOWN_TIME})
    await served.operator.push(timeless)
    await served.operator.wait_idle(10)

    state = await get_json(served.client, "/api/state")

    rows = {row["id"]: row for row in state["dead_letters"]}
    assert (rows[timeless.id]["timestamp"], rows[timeless.id]["age_seconds"]) == (None, None)
    assert state["dead_letters"][-1]["id"] == timeless.id, "unknown ones come last"
