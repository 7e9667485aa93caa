"""Prometheus text rendering of the host's counters."""

from __future__ import annotations

import pytest

from beehive import ActorHost, Event, discover
from beehive.metrics import render, scrape
from beehive.queues.base import QueueDepth
from beehive.queues.memory import InMemoryQueueOperator
from beehive.stats import ActorStats, Counters
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


def test_the_histogram_has_cumulative_buckets_sum_and_count() -> None:
    counters = Counters()
    for seconds in (0.001, 0.004, 0.02, 0.3, 120.0):
        counters.observe(seconds)

    values = samples(render({ACTOR: counters.snapshot()}))

    def bucket(le: str) -> str:
        return values[f'beehive_processing_seconds_bucket{{actor="{ACTOR}",le="{le}"}}']

    assert (bucket("0.005"), bucket("0.025"), bucket("0.5"), bucket("60.0")) == ("2", "3", "4", "4")
    assert bucket("+Inf") == "5"
    assert values[f'beehive_processing_seconds_count{{actor="{ACTOR}"}}'] == "5"
    assert float(values[f'beehive_processing_seconds_sum{{actor="{ACTOR}"}}']) == pytest.approx(
        120.325
    )


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
