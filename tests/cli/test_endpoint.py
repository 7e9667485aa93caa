"""The health and metrics endpoint: three GET paths over plain HTTP/1.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from beehive._endpoint import HealthEndpoint, probe
from tests.cli.http import get


class State:
    ready = False


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[HealthEndpoint, type[State]]]:
    async def metrics() -> str:
        return "beehive_up 1\n"

    server = HealthEndpoint("127.0.0.1", 0, ready=lambda: State.ready, metrics=metrics)
    await server.start()
    State.ready = False
    yield server, State
    await server.aclose()


async def test_healthz_answers_while_the_process_lives(
    endpoint: tuple[HealthEndpoint, type[State]],
) -> None:
    server, _ = endpoint

    assert await get(server.port, "/healthz") == (200, "ok\n")


async def test_readyz_follows_readiness(endpoint: tuple[HealthEndpoint, type[State]]) -> None:
    server, state = endpoint

    before = await get(server.port, "/readyz")
    state.ready = True
    after = await get(server.port, "/readyz?verbose=1")

    assert before == (503, "not ready\n")
    assert after == (200, "ready\n")


async def test_metrics_are_served_as_prometheus_text(
    endpoint: tuple[HealthEndpoint, type[State]],
) -> None:
    server, _ = endpoint

    status, body = await get(server.port, "/metrics")

    assert (status, body) == (200, "beehive_up 1\n")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/", 404), ("POST", "/healthz", 405), ("HEAD", "/healthz", 200)],
)
async def test_anything_else_is_refused(
    endpoint: tuple[HealthEndpoint, type[State]], method: str, path: str, status: int
) -> None:
    server, _ = endpoint

    assert (await get(server.port, path, method))[0] == status


async def test_a_truncated_request_is_a_bad_request(
    endpoint: tuple[HealthEndpoint, type[State]],
) -> None:
    server, _ = endpoint

    status, _ = await get(server.port, "", raw=b"GET /healthz HTTP/1.1\r\n")

    assert status == 400


async def test_a_failing_metrics_source_is_a_500_not_a_dead_endpoint() -> None:
    async def metrics() -> str:
        raise RuntimeError("no stats")

    server = HealthEndpoint("127.0.0.1", 0, ready=lambda: True, metrics=metrics)
    await server.start()
    try:
        failed = await get(server.port, "/metrics")
        alive = await get(server.port, "/healthz")
    finally:
        await server.aclose()

    assert failed[0] == 500
    assert alive == (200, "ok\n")


def test_probe_reports_an_unreachable_endpoint_as_unhealthy() -> None:
    assert probe("/healthz", port=1, timeout=1) == 1
