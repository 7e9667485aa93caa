"""``beehive dlq``: against the local RabbitMQ broker and the Service Bus fake."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from beehive import Event
from beehive.cli import main, parse, parser
from beehive.cli._common import CommandError
from beehive.cli.dlq import age, execute
from beehive.queues import QueueOperator
from beehive.queues.base import UNKNOWN_TIME
from tests.queues.rabbitmq_support import RABBITMQ_URL, rabbitmq_backend, require_broker
from tests.queues.servicebus_fake import servicebus_fake_backend

BACKENDS: dict[str, Callable[[], AbstractAsyncContextManager[QueueOperator]]] = {
    "rabbitmq": rabbitmq_backend,
    "servicebus-fake": servicebus_fake_backend,
}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(params=list(BACKENDS))
async def operator(request: pytest.FixtureRequest) -> AsyncIterator[QueueOperator]:
    async with BACKENDS[request.param]() as operator:
        yield operator


async def seed(operator: QueueOperator) -> tuple[str, list[Event]]:
    """Topic ``Orders_x`` with Payment (three dead letters) and Audit (nothing left)."""
    topic = f"Orders_{uuid4().hex[:8]}"
    for subscription in ("Payment", "Audit"):
        await operator.setup_queue(f"{topic}-{subscription}")
    sent = [Event(event_type=topic, body=json.dumps({"n": n})) for n in range(3)]
    await operator.push_batch(sent)
    reasons = [f"Charge@{topic}-Payment raised ValueError: card {n} declined" for n in (0, 1)] + [
        "MaxDeliveryCountExceeded"
    ]
    for reason in reasons:
        (event,) = await operator.next(f"{topic}-Payment", wait=5)
        if reason.startswith("Charge"):  # as the host dead-letters: who, and what it raised
            await operator.dead_letter(
                event,
                reason,
                "ValueError",
                actor=f"Charge@{topic}-Payment",
                error_type="ValueError",
            )
        else:
            await operator.dead_letter(event, reason)
    for _ in sent:
        (event,) = await operator.next(f"{topic}-Audit", wait=5)
        await operator.complete(event)
    return topic, sent


async def run(operator: QueueOperator, *argv: str, **options: object) -> tuple[int, str]:
    out = io.StringIO()
    code = await execute(parse(["dlq", *argv]), operator, out=out, **options)  # type: ignore[arg-type]
    return code, out.getvalue()


async def test_list_shows_id_type_reason_actor_age_and_deliveries(
    operator: QueueOperator,
) -> None:
    topic, sent = await seed(operator)

    code, table = await run(operator, "list", f"{topic}-Payment")

    assert code == 0
    lines = table.splitlines()
    assert lines[0].split() == ["ID", "EVENT", "TYPE", "REASON", "ACTOR", "AGE", "DELIVERIES"]
    assert [line.split()[0] for line in lines[1:]] == [e.id for e in sent]
    assert f"Charge@{topic}-Payment" in lines[1]
    assert "MaxDeliveryCountExceeded" in lines[3]
    assert " - " in lines[3]


async def test_list_as_json(operator: QueueOperator) -> None:
    topic, sent = await seed(operator)

    code, printed = await run(operator, "list", f"{topic}-Payment", "--json")

    rows = json.loads(printed)
    assert code == 0
    assert [row["id"] for row in rows] == [e.id for e in sent]
    assert rows[0]["actor"] == f"Charge@{topic}-Payment"
    assert rows[0]["error_type"] == "ValueError"
    assert rows[0]["reason"].endswith("card 0 declined")
    assert rows[0]["delivery_count"] == 1
    assert rows[0]["age_seconds"] >= 0
    assert datetime.fromisoformat(rows[0]["dead_lettered_at"]) <= datetime.now(UTC)
    assert rows[2]["actor"] is None
    assert rows[2]["error_type"] is None


async def test_show_prints_the_whole_event(
    operator: QueueOperator, capsys: pytest.CaptureFixture[str]
) -> None:
    topic, sent = await seed(operator)

    code, printed = await run(operator, "show", f"{topic}-Payment", sent[1].id)
    missing, _ = await run(operator, "show", f"{topic}-Payment", "no-such-id")

    shown = json.loads(printed)
    assert code == 0
    assert (shown["id"], shown["event_type"], shown["body"]) == (sent[1].id, topic, {"n": 1})
    assert shown["properties"]["dead_letter_description"] == "ValueError"
    assert missing == 1
    assert "no dead letter no-such-id" in capsys.readouterr().err


async def test_replay_by_id_then_by_reason_then_all(operator: QueueOperator) -> None:
    topic, sent = await seed(operator)
    payment, audit = f"{topic}-Payment", f"{topic}-Audit"

    assert await run(operator, "replay", payment, "--id", sent[2].id) == (
        0,
        f"replayed 1 dead letter into {payment}\n",
    )
    (again,) = await operator.next(payment, wait=5)
    assert (again.id, again.properties["replay_count"]) == (sent[2].id, 1)
    await operator.complete(again)
    assert (await run(operator, "replay", payment, "--reason", "card 1"))[1].startswith(
        "replayed 1 dead letter"
    )
    assert (await run(operator, "replay", payment, "--all"))[1].startswith("replayed 1 dead")

    replayed = []
    for _ in range(2):
        (event,) = await operator.next(payment, wait=5)
        replayed.append(event.id)
        await operator.complete(event)
    assert sorted(replayed) == sorted([sent[0].id, sent[1].id])
    assert await operator.next(audit, wait=0.3) == [], "the other subscription got nothing"


async def test_purge_refuses_without_yes_when_nobody_can_be_asked(
    operator: QueueOperator,
) -> None:
    topic, _ = await seed(operator)

    with pytest.raises(CommandError, match="--yes"):
        await run(operator, "purge", f"{topic}-Payment", "--all", stdin=io.StringIO())

    assert len(await operator.dead_letters(f"{topic}-Payment")) == 3


async def test_purge_asks_on_a_terminal(operator: QueueOperator) -> None:
    topic, sent = await seed(operator)
    payment = f"{topic}-Payment"
    questions: list[str] = []

    def answer(reply: str) -> Callable[[str], str]:
        return lambda question: questions.append(question) or reply  # type: ignore[func-returns-value]

    declined = await run(
        operator, "purge", payment, "--reason", "declined", stdin=Terminal(), ask=answer("n")
    )
    accepted = await run(
        operator, "purge", payment, "--reason", "declined", stdin=Terminal(), ask=answer("y")
    )

    assert declined == (1, "nothing purged\n")
    assert accepted == (0, f"purged 2 dead letters from {payment}\n")
    assert questions == [f"purge 2 dead letters from {payment} for good? [y/N] "] * 2
    assert [e.id for e in await operator.dead_letters(payment)] == [sent[2].id]


async def test_purge_with_yes(operator: QueueOperator) -> None:
    topic, _ = await seed(operator)

    code, printed = await run(operator, "purge", f"{topic}-Payment", "--all", "--yes")

    assert (code, printed) == (0, f"purged 3 dead letters from {topic}-Payment\n")
    assert await operator.dead_letters(f"{topic}-Payment") == []


async def test_a_bad_or_unknown_queue_is_a_clear_error(operator: QueueOperator) -> None:
    with pytest.raises(CommandError, match="invalid queue name"):
        await run(operator, "list", "Orders-Pay-ment")
    with pytest.raises(CommandError, match="Nowhere"):
        await run(operator, "replay", f"Nowhere_{uuid4().hex[:8]}-Sub", "--all")


def test_replay_and_purge_need_a_selection(capsys: pytest.CaptureFixture[str]) -> None:
    for action in ("replay", "purge"):
        with pytest.raises(SystemExit):
            parser().parse_args(["dlq", action, "Orders-Payment"])
    assert "one of the arguments --id --reason --all is required" in capsys.readouterr().err


def test_memory_backend_points_to_the_dashboard(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq", "list", "Orders-Payment"]) == 2
    assert "beehive run --dashboard" in capsys.readouterr().err


def test_the_command_end_to_end_on_rabbitmq(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_broker()
    monkeypatch.setenv("BEEHIVE_RABBITMQ_URL", RABBITMQ_URL)
    monkeypatch.setenv("BEEHIVE_BACKEND", "rabbitmq")

    async def seeded() -> tuple[str, list[Event], AbstractAsyncContextManager[QueueOperator]]:
        backend = rabbitmq_backend()
        operator = await backend.__aenter__()
        topic, sent = await seed(operator)
        return topic, sent, backend

    topic, sent, backend = asyncio.run(seeded())
    try:
        assert main(["dlq", "list", f"{topic}-Payment", "--json"]) == 0
        assert [row["id"] for row in json.loads(capsys.readouterr().out)] == [e.id for e in sent]
        assert main(["dlq", "purge", f"{topic}-Payment", "--all", "--yes"]) == 0
        assert capsys.readouterr().out == f"purged 3 dead letters from {topic}-Payment\n"
    finally:
        asyncio.run(backend.__aexit__(None, None, None))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("amqp://guest:s3cret@127.0.0.1:1/", "Connect call failed"),
        (RABBITMQ_URL.replace("guest:guest@", "guest:s3cret@"), "ACCESS_REFUSED"),
    ],
    ids=["unreachable", "wrong-password"],
)
def test_a_broker_it_cannot_use_is_one_line_naming_it_and_exit_code_2(
    url: str, problem: str
) -> None:
    if problem == "ACCESS_REFUSED":
        require_broker()
    done = subprocess.run(
        [sys.executable, "-m", "beehive", "dlq", "list", "Orders-Payment"],
        env={**os.environ, "BEEHIVE_BACKEND": "rabbitmq", "BEEHIVE_RABBITMQ_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("beehive: error: cannot reach RabbitMQ at amqp://guest:****@")
    assert problem in line
    assert "s3cret" not in done.stderr


def test_age_is_short() -> None:
    assert [age(s) for s in (3, 125, 7300, 200000)] == ["3s", "2m", "2h", "2d"]
    assert age(None) == "unknown"


async def test_a_dead_letter_whose_message_carried_no_time_has_an_unknown_age(
    operator: QueueOperator,
) -> None:
    queue = f"Timeless_{uuid4().hex[:8]}-Payment"
    await operator.setup_queue(queue)
    timeless = Event(event_type=queue.split("-")[0], body="{}", timestamp=UNKNOWN_TIME)
    await operator.push(timeless)
    (event,) = await operator.next(queue, wait=5)
    await operator.dead_letter(event, "unreadable")

    _, table = await run(operator, "list", queue)
    _, printed = await run(operator, "list", queue, "--json")

    (line,) = table.splitlines()[1:]
    assert line.split()[:4] == [timeless.id, timeless.event_type, "unreadable", "-"]
    assert line.split()[4] == "unknown", "not 0s: nobody knows when it was sent"
    (row,) = json.loads(printed)
    assert (row["timestamp"], row["age_seconds"]) == (None, None)
