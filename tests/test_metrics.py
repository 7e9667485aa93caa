"""The host's metrics, read back with prometheus_client's own parsers."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_open
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from beehive import ActorDescriptor, ActorHost, Event, discover
from beehive._supervisor import RESTARTS
from beehive.metrics import METRICS, Snapshot, registry
from beehive.queues.base import QueueDepth
from beehive.queues.memory import InMemoryQueueOperator
from beehive.stats import ActorStats, Counters
from beehive.web import endpoint
from tests.example_app.models import OrderAccepted
from tests.example_app.services import Container
from tests.reliability.support import until

ACTOR = "PaymentActor@OrderAccepted-Payment"
QUEUE = "OrderAccepted-Payment"


Found = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Found:
    """(sample name, labels) -> value, parsed by prometheus_client."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Found, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def exposition(snapshot: Snapshot) -> str:
    return generate_latest(registry(snapshot, default=False)).decode()


def test_every_family_has_its_type_and_one_sample_per_actor() -> None:
    stats = ActorStats(
        received=7, succeeded=4, retried=2, dead_lettered=1, lease_renewals=3, in_flight=1
    )

    text = exposition(Snapshot({ACTOR: stats}, {ACTOR: QUEUE}))

    found = samples(text)
    labels = {"actor": ACTOR, "queue": QUEUE}
    assert value(found, "beehive_messages_received_total", **labels) == 7
    assert value(found, "beehive_messages_succeeded_total", **labels) == 4
    assert value(found, "beehive_messages_retried_total", **labels) == 2
    assert value(found, "beehive_messages_dead_lettered_total", **labels) == 1
    assert value(found, "beehive_messages_duplicates_total", **labels) == 0
    assert value(found, "beehive_messages_lease_lost_total", **labels) == 0
    assert value(found, "beehive_lease_renewals_total", **labels) == 3
    assert value(found, "beehive_messages_in_flight", **labels) == 1
    types = {f.name: f.type for f in text_string_to_metric_families(text)}
    for name, (kind, _) in METRICS.items():
        assert types[name.removesuffix("_total")] == kind, name


def test_the_histogram_has_cumulative_buckets_sum_and_count() -> None:
    counters = Counters()
    for seconds in (0.001, 0.004, 0.02, 0.3, 120.0):
        counters.observe(seconds)

    found = samples(exposition(Snapshot({ACTOR: counters.snapshot()}, {ACTOR: QUEUE})))

    def bucket(le: str) -> float:
        return value(found, "beehive_processing_seconds_bucket", actor=ACTOR, queue=QUEUE, le=le)

    assert (bucket("0.005"), bucket("0.025"), bucket("0.5"), bucket("60.0")) == (2, 3, 4, 4)
    assert bucket("+Inf") == 5
    assert value(found, "beehive_processing_seconds_count", actor=ACTOR, queue=QUEUE) == 5
    assert value(
        found, "beehive_processing_seconds_sum", actor=ACTOR, queue=QUEUE
    ) == pytest.approx(120.325)


def test_label_values_are_escaped() -> None:
    odd = 'Odd"Actor\\@Q\nx'

    found = samples(exposition(Snapshot({odd: ActorStats()})))

    assert value(found, "beehive_messages_received_total", actor=odd, queue="") == 0


def test_queue_depths_are_gauges_by_state() -> None:
    depths = {QUEUE: QueueDepth(active=12, scheduled=1, leased=2, dead_lettered=3)}

    found = samples(exposition(Snapshot({}, depths=depths)))

    states = {"active": 12, "scheduled": 1, "leased": 2, "dead_lettered": 3}
    for state, count in states.items():
        assert value(found, "beehive_queue_messages", queue=QUEUE, state=state) == count


@pytest.fixture
async def client() -> AsyncIterator[tuple[InMemoryQueueOperator, httpx.AsyncClient]]:
    operator = InMemoryQueueOperator()
    host = ActorHost(operator, discover("tests.example_app.actors"), container=Container())
    app = endpoint(host)
    transport = httpx.ASGITransport(app=app)
    async with operator, host, httpx.AsyncClient(transport=transport, base_url="http://h") as c:
        yield operator, c


async def test_metrics_of_a_running_host_with_depths_and_process_metrics(
    client: tuple[InMemoryQueueOperator, httpx.AsyncClient],
) -> None:
    operator, http = client
    await operator.push(Event(OrderAccepted(order_id="o-1")))
    await operator.wait_idle(timeout=10)

    response = await http.get("/metrics")

    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(response.text)
    assert value(found, "beehive_messages_succeeded_total", actor=ACTOR, queue=QUEUE) == 1
    assert value(found, "beehive_queue_messages", queue=QUEUE, state="active") == 0
    trace = {"actor": "TracingActor@OrderShipped-Trace", "queue": "OrderShipped-Trace"}
    assert value(found, "beehive_processing_seconds_count", **trace) == 1
    names = {name for name, _ in found}
    assert "process_cpu_seconds_total" in names, "process metrics from the default registry"
    assert "python_info" in names


async def test_openmetrics_when_the_scraper_asks(
    client: tuple[InMemoryQueueOperator, httpx.AsyncClient],
) -> None:
    _, http = client

    response = await http.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )

    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
    families = {f.name: f for f in parse_open(response.text)}
    received = families["beehive_messages_received"]
    assert received.type == "counter"
    assert all(isinstance(s, Sample) for s in received.samples)


def test_names_follow_the_prometheus_conventions() -> None:
    """Snake case under ``beehive_``, counters in ``_total``, the unit (seconds, messages)
    named."""
    for name, (kind, text) in {**METRICS, RESTARTS: ("counter", "restarts")}.items():
        assert re.fullmatch(r"beehive_[a-z][a-z0-9_]*[a-z0-9]", name), name
        assert name.endswith("_total") == (kind == "counter"), name
        assert re.search(r"_(seconds|messages)(_|$)", name) or kind == "counter", name
        assert text, name


def test_the_docs_list_every_metric() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "how-to" / "operate.md").read_text()

    assert [name for name in [*METRICS, RESTARTS] if f"`{name}`" not in page] == []


class Reader:
    async def process(self, event: Event) -> list[Event]:
        return []


async def test_rabbitmq_queue_depths_are_on_metrics() -> None:
    """Depth gauges on a real broker: messages waiting, and dead letters, per subscription."""
    from tests.queues.rabbitmq_support import rabbitmq_backend

    topic = f"Depth{uuid.uuid4().hex[:8]}"
    source = f"{topic}-Reader"
    async with rabbitmq_backend() as operator:
        host = ActorHost(operator, [ActorDescriptor(Reader, source)])
        await operator.setup_queue(source)
        await operator.push_batch([Event(event_type=topic, body="{}") for _ in range(3)])
        (first,) = await operator.next(source, wait=5)
        await operator.dead_letter(first, "poisoned")
        transport = httpx.ASGITransport(app=endpoint(host))
        async with httpx.AsyncClient(transport=transport, base_url="http://h") as http:

            async def settled() -> bool:
                """The broker's counts catch up with the dead-lettering (acks are async)."""
                nonlocal found
                found = samples((await http.get("/metrics")).text)
                counts = depth(found, source, "active"), depth(found, source, "dead_lettered")
                return counts == (2, 1)

            found: Found = {}
            await until(settled, timeout=10, what="2 waiting and 1 dead letter counted")

    assert ("process_cpu_seconds_total", frozenset()) in found, "parsed whole, process included"


def depth(found: Found, queue: str, state: str) -> float | None:
    return found.get(
        ("beehive_queue_messages", frozenset({"queue": queue, "state": state}.items()))
    )
