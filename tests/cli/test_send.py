"""``beehive send``: to a running host's endpoint (with its token) or straight to the broker."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from beehive import ActorHost, discover
from beehive.backoff import Backoff
from beehive.cli import main
from beehive.queues.memory import InMemoryQueueOperator
from beehive.web import Server, endpoint
from tests.queues.rabbitmq_support import RABBITMQ_URL, rabbitmq_backend

TOKEN = "send-test-token-0d9e"
SHOP = "tests.dashboard.shop"
PAYMENT = "Payment@OrderPlaced-Payment"
SHIPPING = "Shipping@OrderPacked-Shipping"


@dataclass
class Running:
    operator: InMemoryQueueOperator
    host: ActorHost
    url: str

    async def send(self, *argv: str) -> int:
        """``beehive send`` in a thread (it blocks), while the host serves on this loop."""
        return await asyncio.to_thread(main, ["send", *argv])


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    """The shop's actors on the memory backend, behind a real port, with the token set."""
    operator = InMemoryQueueOperator()
    host = ActorHost(operator, discover(SHOP), poll_wait=0.1, backoff=Backoff(0.01, 2, 0.05))
    server = Server(endpoint(host, token=TOKEN), "127.0.0.1", 0)
    async with operator, host, server:
        yield Running(operator, host, f"http://127.0.0.1:{server.port}")


async def test_send_to_a_running_host_runs_the_chain(
    running: Running, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEEHIVE_DASHBOARD_TOKEN", TOKEN)

    code = await running.send(
        "OrderPlaced", '{"order_id": "o-1"}', "--to", running.url, "--count", "2"
    )
    await running.operator.wait_idle(10)

    assert code == 0
    assert capsys.readouterr().out.startswith("sent 2 OrderPlaced events: ")
    assert running.host.stats()[SHIPPING].succeeded == 2


async def test_the_token_can_be_given_on_the_command_line(running: Running) -> None:
    code = await running.send(
        "OrderPlaced", '{"order_id": "o-2"}', "--to", running.url + "/", "--token", TOKEN
    )
    await running.operator.wait_idle(10)

    assert code == 0
    assert running.host.stats()[SHIPPING].succeeded == 1


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_without_the_token_it_is_refused_and_nothing_runs(
    running: Running, token: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--token", token] if token else []

    code = await running.send("OrderPlaced", '{"order_id": "o-3"}', "--to", running.url, *extra)
    await running.operator.wait_idle(10)

    assert code == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "BEEHIVE_DASHBOARD_TOKEN" in error if token is None else "401" in error
    assert running.host.stats()[PAYMENT].received == 0


async def test_a_body_failing_the_model_lists_the_errors_and_exits_2(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await running.send(
        "OrderPlaced", '{"declined": "maybe"}', "--to", running.url, "--token", TOKEN
    )

    assert code == 2
    error = capsys.readouterr().err
    assert "order_id: Field required" in error
    assert "declined: Input should be a valid boolean" in error
    assert running.host.stats()[PAYMENT].received == 0


async def test_body_from_a_file_and_from_stdin(
    running: Running, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "order.json").write_text('{"order_id": "from-file"}')
    monkeypatch.setattr("sys.stdin", io.StringIO('{"order_id": "from-stdin"}'))

    by_file = await running.send(
        "OrderPlaced", f"@{tmp_path / 'order.json'}", "--to", running.url, "--token", TOKEN
    )
    by_stdin = await running.send("OrderPlaced", "-", "--to", running.url, "--token", TOKEN)
    await running.operator.wait_idle(10)

    assert (by_file, by_stdin) == (0, 0)
    assert running.host.stats()[SHIPPING].succeeded == 2


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["OrderPlaced", "{not json"], "the body in BODY is not JSON"),
        (["OrderPlaced", "@/no/such/file.json"], "cannot read the body from /no/such/file.json"),
        (["OrderPlaced", "--property", "novalue"], "--property takes KEY=VALUE"),
        (["OrderPlaced", "--count", "0"], "count: Input should be greater than or equal to 1"),
        (["OrderPlaced", "--delay", "inf"], "delay: Input should be a finite number"),
        (["OrderPlaced", "--delay", "1e308"], "delay: Input should be less than or equal to"),
        (["Order-Placed"], "invalid topic name"),
        (["OrderPlaced"], "--to http://HOST:PORT"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["send", *argv]) == 2
    error = capsys.readouterr().err
    assert says in error
    assert error.count("\n") == 1


def test_an_unreachable_host_is_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["send", "OrderPlaced", "--to", "http://127.0.0.1:1", "--token", TOKEN])

    assert code == 1
    assert "cannot reach http://127.0.0.1:1/api/send" in capsys.readouterr().err


def test_the_broker_path_validates_against_the_modules_models(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEEHIVE_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:1/")

    code = main(["send", "OrderPlaced", "{}", "--backend", "rabbitmq", "--module", SHOP])

    assert code == 2
    assert "does not validate as OrderPlaced: order_id: Field required" in capsys.readouterr().err


async def test_send_to_rabbitmq_with_properties_session_and_correlation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    topic = f"Sent{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("BEEHIVE_RABBITMQ_URL", RABBITMQ_URL)
    async with rabbitmq_backend() as operator:
        await operator.setup_queue(f"{topic}-Reader")
        code = await asyncio.to_thread(
            main,
            [
                "send", topic, '{"n": 1}', "--backend", "rabbitmq",
                "--property", "tenant=acme", "--property", "attempt=2",
                "--session", "s-1", "--correlation", "c-1",
            ],
        )  # fmt: skip
        received = await operator.next(f"{topic}-Reader", wait=10)

    assert code == 0
    (event,) = received
    assert json.loads(event.body) == {"n": 1}
    assert event.properties["tenant"] == "acme"
    assert event.properties["attempt"] == 2
    assert (event.session_id, event.correlation_id) == ("s-1", "c-1")
