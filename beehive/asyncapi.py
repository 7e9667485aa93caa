"""The event network as an AsyncAPI 3.0 document (``beehive asyncapi``).

One channel per topic and plain queue; one ``receive`` operation per actor source and one
``send`` operation per event an actor ``emits``; one message per event type, its payload the
JSON Schema of its pydantic model (declared as draft 07, which the AsyncAPI tools read; the
keywords pydantic writes for plain models are the same there), its headers beehive's
envelope (``x-event-version`` gives the body's version, see :mod:`beehive.versions`).
Channels and operations carry the AMQP 0-9-1 bindings of the RabbitMQ mapping
(a topic is a fanout exchange, a subscription a queue bound to it); AsyncAPI has no Service
Bus binding, so the Service Bus entities and settings travel as ``x-servicebus`` extensions.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from beehive.actors import ActorDescriptor
from beehive.contract import Contract, EventType
from beehive.versions import version_of

VERSION: Final = "3.0.0"
AMQP_BINDING: Final = "0.3.0"
SCHEMA_FORMAT: Final = "application/schema+json;version=draft-07"
ENVELOPE: Final = "BeehiveEnvelope"

_ENVELOPE_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "beehive's envelope around every event body (beehive.Event)",
    "properties": {
        "id": {"type": "string", "description": "the event's own id, unique per event"},
        "timestamp": {"type": "string", "format": "date-time"},
        "event_type": {"type": "string", "description": "the body's model, by name"},
        "queue_name": {"type": "string", "description": "the topic or queue it was sent to"},
        "correlation_id": {
            "type": ["string", "null"],
            "description": "the id of the first event of the journey, carried along",
        },
        "causation_id": {
            "type": ["string", "null"],
            "description": "the id of the event whose processing sent this one",
        },
        "session_id": {
            "type": ["string", "null"],
            "description": "events of one session are read one at a time, in order",
        },
        "properties": {
            "type": "object",
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
    },
    "required": ["id", "timestamp", "event_type"],
}


def document(contract: Contract, *, title: str, version: str = "1.0.0") -> dict[str, Any]:
    """The AsyncAPI document of ``contract``, as JSON-ready values."""
    schemas = _schemas(contract)
    return {
        "asyncapi": VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "The event network of beehive actors: every topic and queue, "
            "who reads it and who sends to it.",
        },
        "defaultContentType": "application/json",
        "channels": {e.name: _channel(e) for e in contract.events},
        "operations": _operations(contract),
        "components": {
            "schemas": {ENVELOPE: _ENVELOPE_SCHEMA, **schemas},
            "messages": {e.name: _message(e) for e in contract.events},
        },
    }


def _schemas(contract: Contract) -> dict[str, Any]:
    models: list[type[BaseModel]] = list(contract.models.values())
    if not models:
        return {}
    _, top = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    definitions: dict[str, Any] = top.get("$defs", {})
    return definitions


def _message(event: EventType) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": event.name,
        "title": event.name,
        "contentType": "application/json",
        "headers": {"$ref": f"#/components/schemas/{ENVELOPE}"},
        "correlationId": {"location": "$message.header#/correlation_id"},
        "bindings": {"amqp": {"messageType": event.name, "bindingVersion": AMQP_BINDING}},
    }
    if event.model is None:
        message["summary"] = "no pydantic model of this name was found: the body is any JSON"
    else:
        if event.model.__doc__:
            message["summary"] = event.model.__doc__.strip().splitlines()[0]
        message["payload"] = {
            "schemaFormat": SCHEMA_FORMAT,
            "schema": {"$ref": f"#/components/schemas/{event.model.__name__}"},
        }
        message["x-event-version"] = version_of(event.model)
    return message


def _channel(event: EventType) -> dict[str, Any]:
    name = event.name
    if event.is_queue:
        amqp: dict[str, Any] = {
            "is": "queue",
            "queue": {"name": name, "durable": True, "exclusive": False, "autoDelete": False},
        }
        entity = {"queue": name}
    else:
        amqp = {
            "is": "routingKey",
            "exchange": {"name": name, "type": "fanout", "durable": True, "autoDelete": False},
        }
        entity = {"topic": name}
    channel: dict[str, Any] = {
        "address": name,
        "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        "bindings": {"amqp": {**amqp, "bindingVersion": AMQP_BINDING}},
        "x-servicebus": entity,
    }
    boundary = [
        what
        for what, flag in (
            ("published from outside", event.external_input),
            ("read outside", event.external_output),
        )
        if flag
    ]
    if boundary:
        channel["description"] = f"{name}: {' and '.join(boundary)} this network"
    return channel


def _operation_id(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", ".".join(parts))


def _operations(contract: Contract) -> dict[str, Any]:
    operations: dict[str, Any] = {}
    for d in contract.descriptors:
        topic = d.queue.topic
        operations[_operation_id(d.actor_type.__name__, d.source, "receive")] = {
            "action": "receive",
            "title": d.name,
            "summary": _summary(d.actor_type),
            "channel": {"$ref": f"#/channels/{topic}"},
            "messages": [{"$ref": f"#/channels/{topic}/messages/{topic}"}],
            "bindings": {"amqp": {"ack": True, "bindingVersion": AMQP_BINDING}},
            "x-servicebus": _source(d),
        }
        for emitted in d.emits:
            key = _operation_id(d.actor_type.__name__, emitted, "send")
            operations[key] = {
                "action": "send",
                "title": f"{d.actor_type.__name__} sends {emitted}",
                "channel": {"$ref": f"#/channels/{emitted}"},
                "messages": [{"$ref": f"#/channels/{emitted}/messages/{emitted}"}],
            }
    return operations


def _summary(cls: type) -> str:
    doc = (cls.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else cls.__name__


def _source(d: ActorDescriptor) -> dict[str, Any]:
    entity = (
        {"topic": d.queue.topic, "subscription": d.queue.subscription}
        if d.queue.is_subscription
        else {"queue": d.queue.topic}
    )
    return {
        **entity,
        "requiresSession": d.sessions,
        "maxDeliveryCount": d.max_deliveries,
        "lockDuration": f"PT{math.ceil(d.lease_seconds)}S",
        "parallelism": d.parallelism,
    }
