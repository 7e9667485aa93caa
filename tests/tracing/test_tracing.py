"""OpenTelemetry tracing: one trace per order through Prismo, context carried in properties."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import defaultdict
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from beehive import ActorDescriptor, ActorHost, Event, discover
from beehive.testing import RecordingQueueOperator
from beehive.tracing import Tracing, inject
from samples.prismo import run as prismo
from samples.prismo.backends import open_backend
from samples.prismo.container import build_container
from samples.prismo.scenario import Scenario


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> Iterator[Tracing]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Tracing(tracer_provider=provider)
    provider.shutdown()


async def run_prismo(scenario: Scenario, tracing: Tracing) -> None:
    """Prismo in memory, as ``samples.prismo.run`` does it, with a traced host."""
    backend = open_backend("memory", "memory", {})
    try:
        container = build_container(scenario, backend.stores)
        host = ActorHost(
            backend.operator,
            discover(prismo.ACTORS),
            container=container,
            backoff=prismo.RETRIES,
            poll_wait=0.2,
            tracing=tracing,
        )
        await prismo.stock_the_shop(scenario, backend, container)
        async with host:
            await prismo.place_orders(scenario, backend)
            await prismo.wait_until_done(backend, host, 60)
    finally:
        await backend.close()


def conversation(span: ReadableSpan) -> str:
    return str((span.attributes or {})["messaging.message.conversation_id"])


async def test_every_order_is_one_trace_through_every_actor(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    # Given stock for every order (a parked order is resumed by another order's events)
    scenario = Scenario(orders=30, seed=3, initial_stock=1000, supplier_delay=0)

    await run_prismo(scenario, tracing)

    spans = exporter.get_finished_spans()
    by_order: dict[str, set[int]] = defaultdict(set)
    for span in spans:
        assert span.context is not None
        by_order[conversation(span)].add(span.context.trace_id)
    assert len(by_order) == scenario.orders
    assert all(len(traces) == 1 for traces in by_order.values()), by_order
    assert len({next(iter(traces)) for traces in by_order.values()}) == scenario.orders

    # consumer -> producer -> consumer: every recorded parent is of the other kind
    by_id = {span.context.span_id: span for span in spans if span.context is not None}
    linked = 0
    for span in spans:
        parent = by_id.get(span.parent.span_id) if span.parent else None
        if span.kind is SpanKind.PRODUCER:
            assert parent is not None
            assert parent.kind is SpanKind.CONSUMER
        elif parent is None:  # the first hop: its publication is outside the host
            assert (span.attributes or {})["beehive.event_type"] == "OrderAccepted"
        else:
            assert parent.kind is SpanKind.PRODUCER
            assert (parent.attributes or {})["messaging.message.id"] == (span.attributes or {})[
                "messaging.message.id"
            ]
            linked += 1
    assert linked > scenario.orders
    consumers = [span for span in spans if span.kind is SpanKind.CONSUMER]
    assert {(s.attributes or {})["beehive.outcome"] for s in consumers} == {"succeeded"}
    assert {"beehive.actor", "beehive.delivery_count", "messaging.destination.name"} <= set(
        consumers[0].attributes or {}
    )


class Ping:
    async def process(self, event: Event) -> list[Event]:
        return [Event(event_type="Pong", body="{}")]


class Pong:
    async def process(self, event: Event) -> list[Event]:
        return []


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_the_host_continues_an_incoming_traceparent(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    descriptors = [ActorDescriptor(Ping, "Ping-Work"), ActorDescriptor(Pong, "Pong-Work")]
    operator = RecordingQueueOperator()
    async with ActorHost(operator, descriptors, poll_wait=0.2, tracing=tracing):
        await operator.push(
            Event(event_type="Ping", body="{}", properties={"traceparent": TRACEPARENT})
        )
        await operator.wait_idle(10)

    (pong,) = [event for event in operator.published if event.event_type == "Pong"]
    spans = exporter.get_finished_spans()
    assert {span.context.trace_id for span in spans if span.context} == {
        0x0AF7651916CD43DD8448EB211C80319C
    }
    (first,) = [s for s in spans if (s.attributes or {})["beehive.event_type"] == "Ping"]
    assert first.parent is not None
    assert first.parent.span_id == 0xB7AD6B7169203331
    assert first.kind is SpanKind.CONSUMER
    assert first.name == "process Ping-Work"
    (send,) = [s for s in spans if s.kind is SpanKind.PRODUCER]
    assert send.context is not None
    assert str(pong.properties["traceparent"]).split("-")[2] == f"{send.context.span_id:016x}"


async def test_inject_carries_the_current_context(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    provider = TracerProvider()
    with provider.get_tracer("t").start_as_current_span("caller") as caller:
        (event,) = inject([Event(event_type="Ping", body="{}")])
    assert f"{caller.get_span_context().trace_id:032x}" in str(event.properties["traceparent"])
    assert inject([Event(event_type="Ping", body="{}")])[0].properties == {}


def test_without_the_extra_nothing_imports_opentelemetry() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys

        class Hidden:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "opentelemetry":
                    raise ImportError(f"{name} is hidden")

        sys.meta_path.insert(0, Hidden())
        import beehive, beehive.cli, beehive.host, beehive.journal, beehive.dashboard
        from beehive import ActorHost
        from beehive.journal import Journal
        from beehive.queues import InMemoryQueueOperator

        async def main():
            async with ActorHost(InMemoryQueueOperator(), [], journal=Journal.in_memory()):
                pass

        asyncio.run(main())
        assert not [m for m in sys.modules if m.startswith("opentelemetry")]
        try:
            import beehive.tracing
        except ImportError as error:
            assert "beehive-actors[otel]" in str(error), error
        else:
            raise AssertionError("beehive.tracing imported without OpenTelemetry")
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
