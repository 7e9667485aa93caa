"""``beehive run`` in process: serving, readiness, metrics, signals and start failures."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from dependency_injector import containers, providers

from beehive import Event, actor, discover
from beehive.cli import main, parse
from beehive.cli._common import CommandError
from beehive.cli.run import StartError, inbox_for, serve
from beehive.inbox import Inbox
from beehive.names import QueueName
from beehive.queues.base import QueueSettings
from beehive.queues.memory import InMemoryQueueOperator
from tests.cli.http import get
from tests.example_app.models import OrderAccepted
from tests.example_app.services import Container

APP = "tests.example_app.actors"
DEADLINE = 10.0


def run_args(*extra: str) -> object:
    argv = ["run", APP, "--host", "127.0.0.1", "--port", "0", "--poll-wait", "0.2", *extra]
    return parse(argv)


async def endpoint_port(caplog: pytest.LogCaptureFixture) -> int:
    async with asyncio.timeout(DEADLINE):
        while True:
            for record in caplog.records:
                port = getattr(record, "port", None)
                if port:
                    return int(port)
            await asyncio.sleep(0.01)


async def wait_for(port: int, path: str, status: int) -> None:
    """Poll ``path`` until it answers ``status`` (nothing to wait on but the endpoint)."""
    async with asyncio.timeout(DEADLINE):
        while (await get(port, path))[0] != status:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@pytest.fixture(autouse=True)
def _log_to_caplog(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="beehive")


async def test_serves_until_sigterm_then_stops_gracefully(caplog: pytest.LogCaptureFixture) -> None:
    operator = InMemoryQueueOperator()
    running = asyncio.create_task(
        serve(run_args(), discover(APP), Container(), operator)  # type: ignore[arg-type]
    )
    port = await endpoint_port(caplog)
    await wait_for(port, "/readyz", 200)

    await operator.push(Event(OrderAccepted(order_id="o-1")))
    await operator.wait_idle(timeout=DEADLINE)
    status, metrics = await get(port, "/metrics")
    os.kill(os.getpid(), signal.SIGTERM)
    code = await asyncio.wait_for(running, DEADLINE)

    assert status == 200
    assert (
        'beehive_messages_succeeded_total{actor="PaymentActor@OrderAccepted-Payment",'
        'queue="OrderAccepted-Payment"} 1'
    ) in metrics
    assert code == 0
    messages = [r.getMessage() for r in caplog.records if r.name == "beehive.cli"]
    assert messages[-3:] == [
        "stopping, waiting up to 30s for messages in flight",
        "handled 5 messages: 5 succeeded, 0 retried, 0 dead-lettered",
        "stopped",
    ]


class Unreachable(InMemoryQueueOperator):
    """A broker that never answers setup (a firewall dropping packets)."""

    async def setup_queue(
        self, name: str | QueueName, settings: QueueSettings | None = None
    ) -> None:
        await asyncio.Event().wait()


async def test_a_signal_during_a_slow_start_stops_at_once(caplog: pytest.LogCaptureFixture) -> None:
    running = asyncio.create_task(
        serve(run_args(), discover(APP), Container(), Unreachable())  # type: ignore[arg-type]
    )
    port = await endpoint_port(caplog)
    await wait_for(port, "/healthz", 200)
    not_ready = await get(port, "/readyz")

    os.kill(os.getpid(), signal.SIGINT)

    assert await asyncio.wait_for(running, DEADLINE) == 0
    assert not_ready[0] == 503


class Refusing(InMemoryQueueOperator):
    async def setup_queue(
        self, name: str | QueueName, settings: QueueSettings | None = None
    ) -> None:
        raise ConnectionRefusedError("connection refused by broker:5672")


async def test_a_broker_that_refuses_is_a_start_error() -> None:
    with pytest.raises(StartError, match="cannot start the host: ConnectionRefusedError"):
        await serve(run_args(), discover(APP), Container(), Refusing())  # type: ignore[arg-type]


async def test_the_containers_resources_are_set_up_first_and_shut_down_last() -> None:
    lifecycle: list[str] = []

    async def open_connection() -> AsyncIterator[str]:
        lifecycle.append("open")
        yield "connection"
        lifecycle.append("close")

    class WithResources(Container):
        connection = providers.Resource(open_connection)

    with pytest.raises(StartError):
        await serve(run_args(), discover(APP), WithResources(), Refusing())  # type: ignore[arg-type]

    assert lifecycle == ["open", "close"]


async def test_an_actor_that_cannot_be_built_is_a_configuration_error() -> None:
    with pytest.raises(CommandError, match="payment_gateway"):
        await serve(run_args(), discover(APP), None, InMemoryQueueOperator())  # type: ignore[arg-type]


def test_main_turns_a_start_error_into_exit_code_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("beehive.cli.run.make_operator", lambda *a, **k: Refusing())

    container = "tests.example_app.services:Container"
    code = main(["run", APP, "--container", container, "--port", "0", "--log-level", "ERROR"])

    assert code == 1
    assert capsys.readouterr().err.endswith(
        "beehive: error: cannot start the host: ConnectionRefusedError: "
        "connection refused by broker:5672\n"
    )


def test_it_binds_the_loopback_address_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEEHIVE_HOST", raising=False)
    assert parse(["run", APP]).host == "127.0.0.1"
    assert parse(["run", APP, "--host", "0.0.0.0"]).host == "0.0.0.0"
    monkeypatch.setenv("BEEHIVE_HOST", "0.0.0.0")  # what the container image sets
    assert parse(["run", APP]).host == "0.0.0.0"


def test_a_port_in_use_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(
            ["run", APP, "--host", "127.0.0.1", "--port", str(port), "--log-level", "ERROR"]
        )

    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


@actor("Payments-Ledger", idempotent=True)
class LedgerActor:
    async def process(self, event: Event) -> list[Event]:
        return []


def test_idempotent_actors_get_an_in_memory_inbox_on_the_memory_backend() -> None:
    assert isinstance(inbox_for(discover(LedgerActor), None, "memory"), Inbox)
    assert inbox_for(discover(APP), None, "servicebus") is None


def test_idempotent_actors_take_the_container_inbox_elsewhere() -> None:
    inbox = Inbox.in_memory()
    container = containers.DynamicContainer()
    container.inbox = providers.Object(inbox)

    assert inbox_for(discover(LedgerActor), container, "servicebus") is inbox
    with pytest.raises(CommandError, match=r"LedgerActor@Payments-Ledger need an inbox shared"):
        inbox_for(discover(LedgerActor), None, "servicebus")
    container.inbox = providers.Object("not an inbox")
    with pytest.raises(CommandError, match="gave str, not an Inbox"):
        inbox_for(discover(LedgerActor), container, "servicebus")


async def test_stopping_the_memory_backend_warns_of_the_messages_it_loses(
    caplog: pytest.LogCaptureFixture,
) -> None:
    operator = InMemoryQueueOperator()
    running = asyncio.create_task(
        serve(run_args(), discover(APP), Container(), operator)  # type: ignore[arg-type]
    )
    await wait_for(await endpoint_port(caplog), "/readyz", 200)
    later = datetime.now(UTC) + timedelta(hours=1)
    await operator.push(Event(OrderAccepted(order_id="o-1"), enqueue_time=later))

    os.kill(os.getpid(), signal.SIGTERM)

    assert await asyncio.wait_for(running, DEADLINE) == 0
    (warning,) = [r for r in caplog.records if getattr(r, "lost", None)]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith(  # a copy for each of OrderAccepted's 2 subscribers
        "2 queued messages are lost: the in-memory broker keeps nothing when it stops"
    )
