"""Prometheus text rendering of the host's counters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

import beehive.stats
from beehive import ActorHost, Event, discover
from beehive.metrics import render, scrape
from beehive.queues.base import QueueDepth
from beehive.queues.memory import InMemoryQueueOperator
from beehive.stats import ActorStats
from tests.example_app.models import OrderAccepted
from tests.example_app.services import Container

ACTOR = "PaymentActor@OrderAccepted-Payment"


def samples(text: str) -> dict[str, str]:
    """``metric{labels}`` -> value, for every sample line."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.rsplit(" ", 1) for line in lines)


def test_every_family_has_help_and_type_and_one_sample_per_actor() -> None:
    stats = ActorStats(received=7, succeeded=4, retried=2, dead_lettered=1, in_flight=0)

    text = render({ACTOR: stats}, queues={ACTOR: "OrderAccepted-Payment"})

    labels = '{actor="PaymentActor@OrderAccepted-Payment",queue="OrderAccepted-Payment"}'
    values = samples(text)
    assert values[f"beehive_messages_received_total{labels}"] == "7"
    assert values[f"beehive_messages_succeeded_total{labels}"] == "4"
    assert values[f"beehive_messages_retried_total{labels}"] == "2"
    assert values[f"beehive_messages_dead_lettered_total{labels}"] == "1"
    assert values[f"beehive_messages_in_flight{labels}"] == "0"
    assert values[f"beehive_messages_duplicates_total{labels}"] == "0"
    assert "# TYPE beehive_messages_received_total counter" in text
    assert "# TYPE beehive_messages_in_flight gauge" in text
    assert "# TYPE beehive_processing_seconds histogram" in text
    assert text.endswith("\n")


def test_the_histogram_counts_finished_messages_without_buckets_from_the_core() -> None:
    stats = ActorStats(received=5, succeeded=3, in_flight=2, processing_seconds=1.5)

    values = samples(render({ACTOR: stats}))

    assert values[f'beehive_processing_seconds_bucket{{actor="{ACTOR}",le="+Inf"}}'] == "3"
    assert values[f'beehive_processing_seconds_count{{actor="{ACTOR}"}}'] == "3"
    assert values[f'beehive_processing_seconds_sum{{actor="{ACTOR}"}}'] == "1.5"


@dataclass(frozen=True)
class BucketedStats:
    received: int = 6
    succeeded: int = 6
    retried: int = 0
    dead_lettered: int = 0
    lease_lost: int = 0
    in_flight: int = 0
    processing_seconds: float = 3.2
    processing_buckets: tuple[int, ...] = (3, 2, 1)


def test_buckets_are_cumulative_when_the_stats_carry_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(beehive.stats, "PROCESSING_BUCKETS", (0.1, 1.0), raising=False)
    stats: Any = BucketedStats()

    values = samples(render({ACTOR: stats}))

    bucket = "beehive_processing_seconds_bucket"
    assert values[f'{bucket}{{actor="{ACTOR}",le="0.1"}}'] == "3"
    assert values[f'{bucket}{{actor="{ACTOR}",le="1.0"}}'] == "5"
    assert values[f'{bucket}{{actor="{ACTOR}",le="+Inf"}}'] == "6"


def test_label_values_are_escaped() -> None:
    text = render({'Odd"Actor\\@Q': ActorStats()})

    assert 'actor="Odd\\"Actor\\\\@Q"' in text


def test_queue_depths_are_gauges_per_queue() -> None:
    depths = {"OrderAccepted-Payment": QueueDepth(active=12, dead_lettered=3)}

    values = samples(render({}, depths=depths))

    assert values['beehive_queue_active_messages{queue="OrderAccepted-Payment"}'] == "12"
    assert values['beehive_queue_dead_lettered_messages{queue="OrderAccepted-Payment"}'] == "3"


async def test_scrape_reads_a_running_host_and_its_queue_depths() -> None:
    operator = InMemoryQueueOperator()
    host = ActorHost(operator, discover("tests.example_app.actors"), container=Container())
    async with operator, host:
        await operator.push(Event(OrderAccepted(order_id="o-1")))
        await operator.wait_idle(timeout=10)

        values = samples(await scrape(host))

    labels = f'{{actor="{ACTOR}",queue="OrderAccepted-Payment"}}'
    assert values[f"beehive_messages_succeeded_total{labels}"] == "1"
    assert values['beehive_queue_active_messages{queue="OrderAccepted-Payment"}'] == "0"
    assert (
        values[
            'beehive_processing_seconds_count{actor="TracingActor@OrderShipped-Trace",'
            'queue="OrderShipped-Trace"}'
        ]
        == "1"
    )
