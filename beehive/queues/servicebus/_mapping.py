"""How an ``Event`` travels as a Service Bus message, and back.

Native fields carry what Service Bus understands (``message_id``, ``content_type``,
``correlation_id``, ``session_id``, ``subject``, ``scheduled_enqueue_time_utc``); the user's
``properties`` are the application properties; every other field rides in an application
property prefixed ``beehive.``. Exact instants travel as ISO 8601 text, because the broker's
scheduled-enqueue annotation keeps milliseconds only.

Reading accepts any received message that has the SDK's attribute names (a
:class:`ReceivedMessage`): the SDK's own, and the ``azure.functions.ServiceBusMessage`` that a
Functions trigger hands over (whose body the caller reads), so both become the same event.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any, Final, Protocol

from azure.servicebus import ServiceBusMessage, ServiceBusReceivedMessage
from azure.servicebus.amqp import AmqpMessageBodyType

from beehive.errors import BrokerLimitError, NotFoundError
from beehive.events import Event
from beehive.names import QueueName
from beehive.queues.base import DeadLetterInfo
from beehive.stores.base import KeyValueStore


class ReceivedMessage(Protocol):
    """What reading a received message needs: the SDK's names, as the Functions type has them.

    The types are loose on purpose: each vendor types these attributes its own way.
    """

    @property
    def message_id(self) -> Any: ...
    @property
    def application_properties(self) -> Any: ...
    @property
    def subject(self) -> Any: ...
    @property
    def content_type(self) -> Any: ...
    @property
    def correlation_id(self) -> Any: ...
    @property
    def session_id(self) -> Any: ...
    @property
    def enqueued_time_utc(self) -> Any: ...
    @property
    def delivery_count(self) -> Any: ...
    @property
    def dead_letter_reason(self) -> Any: ...
    @property
    def dead_letter_error_description(self) -> Any: ...


class Unreadable(Exception):
    """A received message that no actor can process: dead-letter it with ``reason``."""

    def __init__(self, reason: str, description: str) -> None:
        super().__init__(description)
        self.reason = reason
        self.description = description


PREFIX: Final = "beehive."
EVENT_TYPE: Final = PREFIX + "event_type"
QUEUE_NAME: Final = PREFIX + "queue_name"
TIMESTAMP: Final = PREFIX + "timestamp"
URL: Final = PREFIX + "url"
ENQUEUE_TIME: Final = PREFIX + "enqueue_time"
CAUSATION_ID: Final = PREFIX + "causation_id"
CLAIM_CHECK: Final = PREFIX + "claim_check"
"""Key of the body in the claim-check store, when the body travelled there instead."""
REPLAY_TO: Final = PREFIX + "replay_to"
"""On a replayed dead letter sent to a topic: the one subscription whose rule admits it."""

# Set by the broker on dead-lettered messages (and by the SDK's dead_letter_message).
_BROKER_REASON: Final = "DeadLetterReason"
_BROKER_DESCRIPTION: Final = "DeadLetterErrorDescription"
_METADATA: Final = "beehive.dead_letter"
"""Marks a dead-letter error description that is beehive's metadata as a JSON object."""


def dead_letter_fields(info: DeadLetterInfo) -> dict[str, str | None]:
    """The ``reason`` and ``error_description`` of ``dead_letter_message`` for ``info``.

    A settlement can carry only those two texts, so the description holds the rest of the
    metadata as a JSON object. It keeps the delivery count too: the broker's does not count the
    delivery that was dead-lettered (a delivery that ends in a settlement is not a failed one).
    """
    metadata = {
        _METADATA: 1,
        "description": info.description,
        "delivery_count": info.delivery_count,
        "actor": info.actor,
        "error_type": info.error_type,
        "dead_lettered_at": info.dead_lettered_at.isoformat() if info.dead_lettered_at else None,
    }
    return {"reason": info.reason, "error_description": json.dumps(metadata)}


def dead_letter_info(message: ReceivedMessage) -> DeadLetterInfo:
    """The metadata of a dead-lettered message: beehive's, or the broker's reason alone.

    The broker's delivery count is its failed deliveries (lock expired or abandoned, see
    ``ServiceBusReceivedMessage.delivery_count``), so after ``MaxDeliveryCountExceeded`` it is
    every delivery; beehive's metadata has the count of a message it dead-lettered itself.
    """
    delivery_count = message.delivery_count or 0
    reason = message.dead_letter_reason or ""
    description = message.dead_letter_error_description or None
    try:
        metadata = json.loads(description or "")
    except ValueError:
        metadata = None
    if not isinstance(metadata, dict) or _METADATA not in metadata:
        return DeadLetterInfo(reason, description, delivery_count=delivery_count)
    at = metadata.get("dead_lettered_at")
    return DeadLetterInfo(
        reason,
        metadata.get("description"),
        metadata.get("actor"),
        metadata.get("error_type"),
        metadata.get("delivery_count", delivery_count),
        datetime.fromisoformat(at) if isinstance(at, str) else None,
    )


def to_message(
    event: Event,
    *,
    claim_check: str | None = None,
    replay_to: str | None = None,
    csharp: bool = False,
) -> ServiceBusMessage:
    """The message that carries ``event``; with ``claim_check``, the body stays behind.

    ``replay_to`` addresses a replayed dead letter to one subscription of its topic (see
    :func:`beehive.queues.servicebus._topology.replay_filter`). ``csharp``: as C# BeeHive
    reads it too (see :func:`csharp_body` and :func:`csharp_content_type`).
    """
    reserved = [key for key in event.properties if key.startswith(PREFIX)]
    if reserved:
        raise ValueError(
            f"event {event.event_type} {event.id} has properties {reserved}: the prefix "
            f"{PREFIX!r} is reserved for beehive's own fields on Service Bus"
        )
    properties: dict[str | bytes, Any] = {
        key: _amqp_value(event, key, value) for key, value in event.properties.items()
    }
    properties[EVENT_TYPE] = event.event_type
    properties[QUEUE_NAME] = event.queue_name
    properties[TIMESTAMP] = event.timestamp.isoformat()
    optional = {
        URL: event.url,
        ENQUEUE_TIME: event.enqueue_time.isoformat() if event.enqueue_time else None,
        CAUSATION_ID: event.causation_id,
        CLAIM_CHECK: claim_check,
        REPLAY_TO: replay_to,
    }
    properties.update({key: value for key, value in optional.items() if value is not None})
    body = "" if claim_check else event.body
    return ServiceBusMessage(
        csharp_body(body) if csharp else body,
        application_properties=properties,
        message_id=event.id,
        content_type=csharp_content_type(event) if csharp else event.content_type,
        correlation_id=event.correlation_id,
        session_id=event.session_id,
        subject=event.event_type,
        scheduled_enqueue_time_utc=event.enqueue_time,
    )


_INT32: Final = range(-(2**31), 2**31)
_INT64: Final = range(-(2**63), 2**63)
_LONG: Final = "LONG"
"""The AMQP type name the SDK's encoder reads from a ``{"TYPE": ..., "VALUE": ...}`` value."""


def _amqp_value(event: Event, key: str, value: Any) -> Any:
    """A property value as the SDK encodes it right: an int beyond 32 bits as AMQP ``long``.

    The SDK's pyamqp encoder writes every Python int as AMQP ``int`` (``struct.pack(">i")``) and
    fails on larger ones (Azure/azure-sdk-for-python#34717), such as the int64 milliseconds
    other producers put in properties. The SDK has no public typed value, so this is the
    encoder's own typed form (``encode_value`` in ``azure/servicebus/_pyamqp/_encode.py``); the
    receiver decodes a ``long`` back to a plain int.
    """
    if type(value) is not int or value in _INT32:
        return value
    if value not in _INT64:
        raise BrokerLimitError(
            f"event {event.event_type} {event.id} has property {key!r} = {value}, beyond the "
            "64-bit integers AMQP carries; send it as a string"
        )
    return {"TYPE": _LONG, "VALUE": value}


def _text(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def received_properties(message: ReceivedMessage) -> dict[str, Any]:
    """Application properties with text keys and values (the SDK hands them over as bytes)."""
    return {
        _text(key): _text(value) for key, value in (message.application_properties or {}).items()
    }


def body_of(message: ServiceBusReceivedMessage) -> str:
    """The body of an SDK message as text (empty when it came by claim check)."""
    if message.body_type is AmqpMessageBodyType.DATA:
        return b"".join(message.body).decode("utf-8")
    return str(_text(message.body))  # a value or sequence body, from another producer


def claim_check_key(message: ReceivedMessage) -> str | None:
    key = received_properties(message).get(CLAIM_CHECK)
    return key if isinstance(key, str) else None


async def read_event(
    message: ReceivedMessage,
    body: str,
    claim_check: KeyValueStore | None,
    *,
    source: QueueName | None = None,
    csharp: bool = False,
) -> Event:
    """The event ``message`` carries, its body loaded from ``claim_check`` when it travelled
    there; :class:`Unreadable` when it cannot be had (``delivery_count`` left to the caller).
    ``source`` and ``csharp``: see :func:`to_event`."""
    key = claim_check_key(message)
    if key is not None:
        if claim_check is None:
            raise Unreadable(
                "ClaimCheckUnavailable",
                f"the body is in claim-check blob {key!r} and no claim_check store is set",
            )
        try:
            body = (await claim_check.get(key)).body.decode()
        except NotFoundError:
            raise Unreadable("ClaimCheckMissing", f"claim-check blob {key!r} is gone") from None
    try:
        return to_event(message, body=body, source=source, csharp=csharp)
    except (ValueError, TypeError) as error:
        raise Unreadable("UnreadableMessage", f"not a beehive event: {error}") from None


def to_event(
    message: ReceivedMessage,
    *,
    body: str,
    source: QueueName | None = None,
    csharp: bool = False,
    lenient: bool = False,
) -> Event:
    """The event a received or peeked message carries, with ``body`` (see :func:`body_of`).

    A dead-lettered message gets its ``DeadLetterInfo`` as properties, and its deliveries as
    ``delivery_count``; otherwise ``delivery_count`` is left to the caller. ``csharp``: a
    message from C# BeeHive, which names no event type (its topic is the type, as C# BeeHive
    reads it: ``source``'s) and may carry properties of types an event has not (see
    :func:`csharp_property`). ``lenient``: properties of any type are shown as text (for
    listing a dead letter that is no event).
    """
    raw = received_properties(message)
    properties: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith(PREFIX) or key in (_BROKER_REASON, _BROKER_DESCRIPTION):
            continue
        if csharp or lenient:
            value = csharp_property(value)
            if value is None:
                continue
        if lenient and not isinstance(value, str | int | float):
            value = str(value)
        properties[key] = value
    fallback = source.topic if csharp and source is not None else "ServiceBusMessage"
    enqueue_time = raw.get(ENQUEUE_TIME)
    timestamp = raw.get(TIMESTAMP)
    event = Event(
        id=message.message_id,
        # A message another producer sent still becomes an event (which the actor may refuse).
        timestamp=datetime.fromisoformat(timestamp) if timestamp else message.enqueued_time_utc,
        event_type=raw.get(EVENT_TYPE) or message.subject or fallback,
        queue_name=raw.get(QUEUE_NAME) or (fallback if csharp else ""),
        body=body,
        content_type=message.content_type or "",
        url=raw.get(URL),
        properties=properties,
        enqueue_time=datetime.fromisoformat(enqueue_time) if enqueue_time else None,
        session_id=message.session_id,
        correlation_id=message.correlation_id,
        causation_id=raw.get(CAUSATION_ID),
    )
    if message.dead_letter_reason is None:
        return event
    return dead_letter_info(message).stamp(event)


# -- C# BeeHive ---------------------------------------------------------------------------------
#
# C# BeeHive (BeeHive.Azure) sends the body as UTF-8 JSON, a content type of its own, the message
# id and its user properties, and no event type: its receiver takes the type from the topic. It
# reads a body from its first "{" on (older SDKs framed strings), so an empty body throws there.


def csharp_body(body: str) -> str:
    """A body C# BeeHive's receiver can cut at its first ``{``: never empty."""
    return body or "{}"


def csharp_content_type(event: Event) -> str:
    """``application/<EventType>+json``, as C# BeeHive's events carry, for a JSON body."""
    if event.content_type == "application/json":
        return f"application/{event.event_type}+json"
    return event.content_type


def csharp_property(value: Any) -> Any:
    """A C# user property as an event property: a ``Guid`` as its text, a null as absent
    (None). A ``DateTime`` arrives as AMQP's timestamp, which the SDK decodes to an int of
    milliseconds since 1970: it stays that int (indistinguishable from a ``long``)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
