"""``beehive trace`` against Azurite, ``beehive run --journal`` and the dashboard's journey."""

from __future__ import annotations

import asyncio
import json
import os
import uuid

import pytest

from beehive import ActorHost, Event
from beehive.cli import main
from beehive.cli.run import dashboard_for, journal_for
from beehive.journal import Journal, JournalEntry
from beehive.queues import InMemoryQueueOperator
from beehive.stores.azure import AzureKeyedListStore
from beehive.web import endpoint
from tests.azurite import Azurite
from tests.dashboard.test_api import client_of, get_json
from tests.journal.test_journal import DESCRIPTORS
from tests.postgres import fresh_schema


async def test_trace_prints_a_journey_from_azure_tables(
    azurite: Azurite,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    store = AzureKeyedListStore.from_connection_string(
        azurite.connection_string, JournalEntry, table_prefix=prefix
    )
    async with store:
        operator = InMemoryQueueOperator()
        async with ActorHost(operator, DESCRIPTORS, poll_wait=0.2, journal=Journal(store)):
            await operator.push(Event(event_type="Start", body="{}", correlation_id="order-9"))
            await operator.wait_idle(10)
    monkeypatch.setenv("BEEHIVE_STORAGE_CONNECTION_STRING", azurite.connection_string)

    code = await asyncio.to_thread(main, ["trace", "order-9", "--table-prefix", prefix])

    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "time",
        "offset",
        "actor",
        "event",
        "type",
        "id",
        "outcome",
        "duration",
    ]
    assert [line.split()[2] for line in lines[1:]] == [
        "Start@Start-Work",
        "Flaky@Next-Flaky",
        "Flaky@Next-Flaky",
        "Doomed@Last-Doomed",
    ]
    assert "retried" in lines[2]
    assert "succeeded (delivery 2)" in lines[3]
    assert lines[1].split()[1] == "+0.000s"

    code = await asyncio.to_thread(main, ["trace", "order-9", "--json", "--table-prefix", prefix])
    outcomes = [json.loads(line)["outcome"] for line in capsys.readouterr().out.splitlines()]
    assert (code, outcomes) == (0, ["succeeded", "retried", "succeeded", "dead-lettered"])

    code = await asyncio.to_thread(main, ["trace", "order-0", "--table-prefix", prefix])
    assert code == 1
    assert "no journal entries for 'order-0'" in capsys.readouterr().err


async def test_trace_prints_a_journey_from_postgresql(
    postgres: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with fresh_schema(postgres) as schema:
        monkeypatch.setenv("BEEHIVE_POSTGRES_DSN", postgres)
        monkeypatch.setenv("BEEHIVE_POSTGRES_SCHEMA", schema)
        monkeypatch.delenv("BEEHIVE_STORAGE_CONNECTION_STRING", raising=False)
        monkeypatch.delenv("BEEHIVE_STORAGE_TABLE_ENDPOINT", raising=False)
        journal = journal_for("rabbitmq", os.environ)  # what beehive run --journal would use
        operator = InMemoryQueueOperator()
        async with ActorHost(operator, DESCRIPTORS, poll_wait=0.2, journal=journal):
            await operator.push(Event(event_type="Start", body="{}", correlation_id="order-9"))
            await operator.wait_idle(10)
        await journal.store.close()  # type: ignore[attr-defined]

        code = await asyncio.to_thread(main, ["trace", "order-9", "--json"])

    outcomes = [json.loads(line)["outcome"] for line in capsys.readouterr().out.splitlines()]
    assert (code, outcomes) == (0, ["succeeded", "retried", "succeeded", "dead-lettered"])


def test_trace_without_a_shared_store_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BEEHIVE_STORAGE_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("BEEHIVE_STORAGE_TABLE_ENDPOINT", raising=False)
    monkeypatch.delenv("BEEHIVE_POSTGRES_DSN", raising=False)

    assert main(["trace", "order-1"]) == 2
    error = capsys.readouterr().err
    assert "BEEHIVE_STORAGE_CONNECTION_STRING" in error
    assert "BEEHIVE_POSTGRES_DSN" in error
    assert "in-memory journal" in error


def test_trace_refuses_two_places_for_the_journal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEEHIVE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true")
    monkeypatch.setenv("BEEHIVE_POSTGRES_DSN", "postgresql://nobody@127.0.0.1:1/none")

    assert main(["trace", "order-1"]) == 2
    assert "unset the other" in capsys.readouterr().err


def test_run_journal_is_in_memory_on_the_memory_backend_and_refused_elsewhere() -> None:
    assert isinstance(journal_for("memory", {}), Journal)
    with pytest.raises(Exception, match="every replica shares"):
        journal_for("rabbitmq", {})


async def test_the_dashboard_journey_search_returns_journal_entries() -> None:
    operator = InMemoryQueueOperator()
    host = ActorHost(operator, DESCRIPTORS, poll_wait=0.2, journal=Journal.in_memory())
    app = endpoint(host, dashboard=dashboard_for(host, None))
    async with host, client_of(app) as client:
        await operator.push(Event(event_type="Start", body="{}", correlation_id="order-5"))
        await operator.wait_idle(10)
        # before any flush: the journal shows what it holds in memory too
        body = await get_json(client, "/api/journey?correlation_id=order-5")

    assert body["configured"] is True
    assert [e["outcome"] for e in body["entries"]] == [
        "succeeded",
        "retried",
        "succeeded",
        "dead-lettered",
    ]
    assert {"timestamp", "event_type", "actor", "seconds", "event_id"} <= set(body["entries"][0])
