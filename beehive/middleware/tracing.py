"""OpenTelemetry tracing for the host (the ``otel`` extra: ``pip install 'beehive-actors[otel]'``).

``ActorHost(..., tracing=Tracing())`` (the :class:`Tracing` middleware) makes one trace of
each correlation's path through the actors. For every message the host opens a CONSUMER span
(``process <queue>``) that continues the W3C trace context carried in the event's properties
(``traceparent``, ``tracestate``), and for every event it publishes a PRODUCER span
(``send <topic>``), child of the consumer span, whose context it writes into the outgoing
event's properties: the next actor's consumer span is that producer span's child. Spans go
wherever the application's OpenTelemetry SDK sends them (with only the API installed they are
no-ops).

An event that arrives without a trace context (published by code outside the host) joins a
trace whose id is derived from its correlation id (its own id when it has none), under a
remote parent that stands for its publication and that no span records. So every subscriber
of such an event, in every replica, joins one trace, and one order is one trace even when
its first event fans out. Such traces are sampled. Use :func:`inject` when publishing from
traced code to continue the caller's trace instead.

This module imports ``opentelemetry``; nothing else in beehive does (``beehive.tracing`` and
``beehive.middleware.tracing`` import it on demand), so without the extra nothing changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Final

try:
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.propagate import get_global_textmap
    from opentelemetry.propagators.textmap import Getter, TextMapPropagator
    from opentelemetry.trace import (
        NonRecordingSpan,
        Span,
        SpanContext,
        SpanKind,
        Status,
        StatusCode,
        TraceFlags,
        TracerProvider,
    )
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.tracing needs OpenTelemetry: pip install 'beehive-actors[otel]'"
    ) from error

from beehive.events import Event, PropertyValue
from beehive.middleware.base import Handle, Message, Middleware, Outcome, Publish

__all__ = ["Tracing", "inject"]

SCOPE: Final = "beehive"
FAILED: Final = frozenset(
    {Outcome.RETRIED, Outcome.DEAD_LETTERED, Outcome.SETTLE_FAILED, Outcome.LEASE_LOST}
)
"""Outcomes that mark the consumer span as an error (``abandoned`` is a stop, not a fault)."""


class _PropertiesGetter(Getter[dict[str, PropertyValue]]):
    def get(self, carrier: dict[str, PropertyValue], key: str) -> list[str] | None:
        value = carrier.get(key)
        return None if value is None else [str(value)]

    def keys(self, carrier: dict[str, PropertyValue]) -> list[str]:
        return list(carrier)


_GETTER: Final = _PropertiesGetter()


def _id_from(text: str, bits: int) -> int:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[: bits // 8], "big") or 1  # zero is the invalid id


def _subscription_of(actor: str, topic: str) -> str | None:
    """``Payment`` for actor ``Payment@OrderAccepted-Payment`` reading topic ``OrderAccepted``."""
    source = actor.rpartition("@")[2]
    prefix = f"{topic}-"
    return source[len(prefix) :] if source.startswith(prefix) else None


class Tracing(Middleware):
    """Spans per message and per published event, from ``tracer_provider`` (default: the
    global one) and with ``propagator`` (default: the global one, W3C trace context)."""

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        propagator: TextMapPropagator | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(SCOPE, tracer_provider=tracer_provider)
        self._propagator = propagator

    @property
    def propagator(self) -> TextMapPropagator:
        return self._propagator or get_global_textmap()

    async def handle(self, message: Message, call_next: Handle) -> Outcome:
        event = message.event
        actor = message.actor
        parent = self.propagator.extract(event.properties, getter=_GETTER)
        if not trace.get_current_span(parent).get_span_context().is_valid:
            parent = trace.set_span_in_context(_publication_of(event), parent)
        topic = event.queue_name
        subscription = _subscription_of(actor, topic)
        attributes: dict[str, Any] = {
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": topic,
            "messaging.message.id": event.id,
            "messaging.message.conversation_id": event.correlation_id or event.id,
            "beehive.actor": actor,
            "beehive.event_type": event.event_type,
            "beehive.delivery_count": event.delivery_count,
        }
        if subscription is not None:
            attributes["messaging.destination.subscription.name"] = subscription
        span = self._tracer.start_span(
            f"process {actor.rpartition('@')[2]}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        )
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        outcome: Outcome | None = None
        try:
            outcome = await call_next(message)
            return outcome
        finally:
            otel_context.detach(token)
            _end(span, outcome or message.outcome or Outcome.ABANDONED)

    async def publish(self, message: Message, events: list[Event], call_next: Publish) -> None:
        if not events:
            await call_next(message, events)
            return
        spans: list[Span] = []
        stamped = []
        for event in events:
            span = self._tracer.start_span(
                f"send {event.queue_name}",
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.operation.type": "send",
                    "messaging.operation.name": "send",
                    "messaging.destination.name": event.queue_name,
                    "messaging.message.id": event.id,
                    "messaging.message.conversation_id": event.correlation_id or event.id,
                    "beehive.event_type": event.event_type,
                },
            )
            spans.append(span)
            stamped.append(self._injected(event, trace.set_span_in_context(span)))
        try:
            await call_next(message, stamped)
        except BaseException as error:
            for span in spans:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            for span in spans:
                span.end()

    def _injected(self, event: Event, context: Context) -> Event:
        carrier: dict[str, str] = {}
        self.propagator.inject(carrier, context=context)
        if not carrier:
            return event
        return event.evolve({"properties": {**event.properties, **carrier}})


def _end(span: Span, outcome: Outcome) -> None:
    span.set_attribute("beehive.outcome", outcome.value)
    if outcome in FAILED:
        span.set_status(Status(StatusCode.ERROR, outcome.value))
    span.end()


def _publication_of(event: Event) -> NonRecordingSpan:
    """The remote parent standing for an untraced event's publication: same trace for every
    event of one correlation."""
    return NonRecordingSpan(
        SpanContext(
            trace_id=_id_from(event.correlation_id or event.id, 128),
            span_id=_id_from(event.id, 64),
            is_remote=True,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
    )


def inject(events: Iterable[Event], propagator: TextMapPropagator | None = None) -> list[Event]:
    """``events`` carrying the current trace context, to publish from traced code."""
    carrier: dict[str, str] = {}
    (propagator or get_global_textmap()).inject(carrier)
    if not carrier:
        return list(events)
    return [event.evolve({"properties": {**event.properties, **carrier}}) for event in events]
