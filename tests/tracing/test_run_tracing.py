"""``beehive run --tracing``: spans exported over OTLP/HTTP, as the OTEL_* variables say."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from beehive import Event, discover
from beehive.cli.run import serve
from beehive.queues.memory import InMemoryQueueOperator
from beehive.web import Server
from tests.cli.test_run import APP, DEADLINE, endpoint_port, run_args
from tests.example_app.models import OrderAccepted
from tests.example_app.services import Container


class Collector:
    """An OTLP/HTTP trace receiver: ``POST /v1/traces`` of protobuf requests."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.app = Starlette(routes=[Route("/v1/traces", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        received = ExportTraceServiceRequest()
        received.ParseFromString(await request.body())
        self.requests.append(received)
        self.headers.append(dict(request.headers))
        return Response(b"", media_type="application/x-protobuf")

    def resources(self) -> list[dict[str, str]]:
        """The resource attributes of every batch received."""
        return [
            {a.key: a.value.string_value for a in resource.resource.attributes}
            for request in self.requests
            for resource in request.resource_spans
        ]

    def spans(self) -> list[tuple[str, str]]:
        """(service name, span name) of every span received."""
        found = []
        for request in self.requests:
            for resource in request.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
                for scope in resource.scope_spans:
                    found += [(attributes.get("service.name", ""), s.name) for s in scope.spans]
        return found


async def test_run_with_tracing_exports_every_message_as_a_span(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="beehive")
    collector = Collector()
    async with Server(collector.app, "127.0.0.1", 0) as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{receiver.port}")
        monkeypatch.setenv("OTEL_SERVICE_NAME", "orders")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme")
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging")
        operator = InMemoryQueueOperator()
        running = asyncio.create_task(
            serve(run_args("--tracing"), discover(APP), Container(), operator)  # type: ignore[arg-type]
        )
        await endpoint_port(caplog)
        await operator.push(Event(OrderAccepted(order_id="o-1")))
        await operator.wait_idle(timeout=DEADLINE)
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(running, DEADLINE) == 0  # the stop flushes the spans

    spans = collector.spans()
    assert ("orders", "process OrderAccepted-Payment") in spans
    assert ("orders", "send PaymentAuthorised") in spans
    assert {service for service, _ in spans} == {"orders"}
    assert {h.get("x-tenant") for h in collector.headers} == {"acme"}
    assert {r.get("deployment.environment") for r in collector.resources()} == {"staging"}


def test_tracing_is_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_args().tracing is False  # type: ignore[attr-defined]
    monkeypatch.setenv("BEEHIVE_TRACING", "true")
    assert run_args().tracing is True  # type: ignore[attr-defined]
