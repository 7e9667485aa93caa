"""The endpoint's probes and methods, in process (ASGI) and through uvicorn on a real port."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import httpx
import pytest

from beehive.dashboard import Dashboard
from beehive.web import Server, endpoint
from beehive.web._probe import probe
from beehive.web._server import _listening
from tests.web.conftest import TOKEN, Hosted, client_of


async def test_healthz_answers_while_the_process_lives(hosted: Hosted) -> None:
    response = await hosted.client.get("/healthz")

    assert (response.status_code, response.text) == (200, "ok\n")


async def test_readyz_follows_readiness(hosted: Hosted) -> None:
    ready = False
    app = endpoint(hosted.host, ready=lambda: ready)
    async with client_of(app) as client:
        before = await client.get("/readyz")
        ready = True
        after = await client.get("/readyz?verbose=1")

    assert (before.status_code, before.text) == (503, "not ready\n")
    assert (after.status_code, after.text) == (200, "ready\n")


async def test_readyz_defaults_to_whether_the_host_runs(hosted: Hosted) -> None:
    assert (await hosted.client.get("/readyz")).status_code == 200
    await hosted.host.stop(1)
    assert (await hosted.client.get("/readyz")).status_code == 503


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/api/state", 404),
        ("POST", "/healthz", 405),
        ("DELETE", "/metrics", 405),
        ("GET", "/api/send", 405),
        ("HEAD", "/healthz", 200),
    ],
)
async def test_anything_else_is_refused(
    hosted: Hosted, method: str, path: str, status: int
) -> None:
    assert (await hosted.client.request(method, path)).status_code == status


async def test_head_has_no_body_but_the_length_of_one(hosted: Hosted) -> None:
    response = await hosted.client.head("/healthz")

    assert response.content == b""
    assert response.headers["content-length"] == "3"


DEEP = b"[" * 30_000 + b"]" * 30_000
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_a_30000_deep_json_array_is_a_400_not_a_500(
    hosted: Hosted, caplog: pytest.LogCaptureFixture
) -> None:
    dashboard = Dashboard(hosted.host, token=TOKEN)
    async with client_of(endpoint(hosted.host, dashboard=dashboard)) as client:
        replay = await client.post("/api/replay", content=DEEP, headers=AUTH)
        send = await client.post("/api/send", content=DEEP, headers=AUTH)
    alone = await hosted.client.post("/api/send", content=DEEP, headers=AUTH)  # no dashboard

    assert (replay.status_code, send.status_code, alone.status_code) == (400, 400, 400)
    assert "too deeply nested" in replay.json()["error"]
    assert "too deeply nested" in alone.json()["error"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_body_over_the_limit_is_refused_unread(hosted: Hosted) -> None:
    huge = json.dumps({"event_type": "OrderPlaced", "body": "x" * (2 << 20)})
    response = await hosted.client.post(
        "/api/send", content=huge, headers={"Authorization": f"Bearer {TOKEN}"}
    )

    assert response.status_code == 413


# -- through uvicorn, on a real port --------------------------------------------------------------


async def test_a_real_port_serves_with_keep_alive(hosted: Hosted) -> None:
    async with Server(endpoint(hosted.host), "127.0.0.1", 0) as server:
        assert server.port != 0
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            first = await client.get("/healthz")
            second = await client.get("/metrics")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.headers.get("connection") != "close", "one connection serves both"
    assert "server" not in first.headers, "no server banner"


@pytest.mark.parametrize("path", ["/api/replay", "/api/send"])
async def test_a_30000_deep_json_array_through_uvicorn_is_a_400(
    hosted: Hosted, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = endpoint(hosted.host, dashboard=Dashboard(hosted.host, token=TOKEN))
    async with Server(app, "127.0.0.1", 0) as server, httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{server.port}{path}", content=DEEP, headers=AUTH
        )

    assert response.status_code == 400
    assert response.json() == {"error": "the body is too deeply nested"}
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_truncated_request_is_a_bad_request(hosted: Hosted) -> None:
    async with Server(endpoint(hosted.host), "127.0.0.1", 0) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        await writer.wait_closed()

    assert answer.startswith(b"HTTP/1.1 400")


async def test_a_port_in_use_is_an_os_error(hosted: Hosted) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = Server(endpoint(hosted.host), "127.0.0.1", taken.getsockname()[1])
        with pytest.raises(OSError, match="in use"):
            await server.start()
        await server.aclose()


async def test_probe_says_healthy_or_not(hosted: Hosted) -> None:
    async with Server(endpoint(hosted.host), "127.0.0.1", 0) as server:
        healthy = await asyncio.to_thread(probe, "/healthz", server.port)
        missing = await asyncio.to_thread(probe, "/nowhere", server.port)

    assert (healthy, missing) == (0, 1)


async def test_probe_goes_straight_to_the_endpoint_whatever_the_proxy_variables(
    hosted: Hosted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:1")  # a proxy nobody listens on
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    async with Server(endpoint(hosted.host), "127.0.0.1", 0) as server:
        assert await asyncio.to_thread(probe, "/healthz", server.port) == 0


def test_probe_reports_an_unreachable_endpoint_as_unhealthy() -> None:
    assert probe("/healthz", port=1, timeout=1) == 1


def test_connections_are_accepted_as_tcp_so_asyncio_turns_nagle_off() -> None:
    """Without TCP_NODELAY each kept-alive response waits ~40 ms for a delayed ACK."""
    listening = _listening("127.0.0.1", 0)
    with listening, socket.create_connection(listening.getsockname()):
        accepted, _ = listening.accept()
        with accepted:
            assert accepted.proto == socket.IPPROTO_TCP  # asyncio's _set_nodelay needs it
