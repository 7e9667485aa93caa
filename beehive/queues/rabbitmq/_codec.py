"""How an ``Event`` travels as an AMQP message, and the names of the helper queues.

AMQP properties carry what they can hold exactly: ``message_id`` (id), ``type``
(event_type), ``content_type``, ``correlation_id`` and ``timestamp`` (whole seconds, for
tooling). Event properties are message headers as they are; beehive's own fields go in one
nested header table, ``beehive``: the exact timestamp, the destination, url, enqueue time,
session and causation ids, plus the delivery bookkeeping (deliveries so far, due time, the
dead-letter metadata). Headers the broker adds (``x-delivery-count``, ``x-death``...) are not
event properties and are dropped on the way in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from beehive.events import Event, PropertyValue
from beehive.queues.base import MAX_DELIVERIES_EXCEEDED, UNKNOWN_TIME, DeadLetterInfo

META: Final = "beehive"
"""The one header name beehive reserves: a table of its own fields."""

BROKER_HEADERS: Final = frozenset(
    {
        "x-delivery-count",
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    }
)

UNREADABLE: Final = "UnreadableMessage"

PERSISTENT: Final = 2

MAX_BUCKET_MS: Final = 1 << 31
"""The longest delay queue (about 24.8 days); longer delays go round it again."""

# Why the broker itself dead-lettered a message (x-first-death-reason), in our vocabulary.
_BROKER_REASONS: Final = {
    "delivery_limit": MAX_DELIVERIES_EXCEEDED,
    "rejected": "Rejected",
    "expired": "Expired",
    "maxlen": "QueueLengthExceeded",
}


def dead_letter_queue(name: str) -> str:
    """The dead-letter queue of a subscription or queue (':' cannot occur in a queue name)."""
    return f"{name}:dead-letter"


def delay_queue(name: str, milliseconds: int) -> str:
    """The delay queue holding messages for ``name`` for exactly ``milliseconds``."""
    return f"{name}:delay-{milliseconds}ms"


def delay_bucket(milliseconds: int) -> int:
    """The longest power-of-two delay not beyond ``milliseconds`` (at least 1).

    A message due in ``r`` ms waits in the bucket below ``r``, comes back early by less than
    half of ``r``, and is sent round again: never delivered early, in at most log2(r) hops.
    """
    return min(1 << (max(milliseconds, 1).bit_length() - 1), MAX_BUCKET_MS)


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def to_ms(moment: datetime) -> int:
    """``moment`` in whole milliseconds, rounded up: a message due then is never early."""
    return math.ceil(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message ready for ``basic.publish`` (pamqp properties: no client-side wrapper)."""

    body: bytes
    properties: Basic.Properties


def encode(
    event: Event,
    *,
    deliveries: int = 0,
    due_ms: int | None = None,
    dead: DeadLetterInfo | None = None,
) -> Outgoing:
    """The AMQP message for ``event``; ``deliveries`` is how many times it was delivered;
    ``dead``: why it was dead-lettered (for a dead-letter queue)."""
    meta: dict[str, Any] = {
        "timestamp": event.timestamp.isoformat(),
        "queue_name": event.queue_name,
    }
    if event.url is not None:
        meta["url"] = event.url
    if event.enqueue_time is not None:
        meta["enqueue_time"] = event.enqueue_time.isoformat()
        if due_ms is None:
            due_ms = to_ms(event.enqueue_time)
    if event.session_id is not None:
        meta["session_id"] = event.session_id
    if event.causation_id is not None:
        meta["causation_id"] = event.causation_id
    if deliveries:
        meta["deliveries"] = deliveries
    if due_ms is not None:
        meta["due"] = due_ms
    if dead is not None:
        meta.update(_dead_meta(dead))
    headers: dict[str, Any] = {**event.properties, META: meta}
    return Outgoing(
        event.body.encode(),
        Basic.Properties(
            content_type=event.content_type,
            headers=headers,
            delivery_mode=PERSISTENT,
            correlation_id=event.correlation_id,
            message_id=event.id,
            timestamp=event.timestamp,
            message_type=event.event_type,
        ),
    )


def _dead_meta(dead: DeadLetterInfo) -> dict[str, Any]:
    values = {
        "reason": dead.reason,
        "description": dead.description,
        "actor": dead.actor,
        "error_type": dead.error_type,
        "dead_lettered_at": dead.dead_lettered_at.isoformat() if dead.dead_lettered_at else None,
    }
    return {key: value for key, value in values.items() if value is not None}


def unreadable(message: DeliveredMessage, dead: DeadLetterInfo) -> Outgoing:
    """A copy of a message that is no event, marked with why, for a dead-letter queue."""
    properties = message.header.properties
    headers = dict(properties.headers or {})
    headers[META] = _dead_meta(dead)
    properties.headers = headers
    properties.delivery_mode = PERSISTENT
    return Outgoing(message.body, properties)


@dataclass(frozen=True, slots=True)
class Decoded:
    """An event read from a message, with the broker-side bookkeeping beside it."""

    event: Event
    recorded: int
    """Deliveries recorded in the message when it was last published (by an abandon)."""
    returns: int
    """Times the broker has put it back since (a consumer died, or a peek gave it back)."""
    due_ms: int | None
    dead: DeadLetterInfo | None = None
    """Why it was dead-lettered, on a message from a dead-letter queue."""

    @property
    def deliveries(self) -> int:
        """Deliveries before this one."""
        return self.recorded + self.returns


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _moment(value: object) -> datetime:
    return datetime.fromisoformat(_text(value))


def decode(message: DeliveredMessage, fallback_type: str, *, lenient: bool = False) -> Decoded:
    """The event in ``message``; messages from other publishers get sensible defaults.

    Raises ValueError (or pydantic's ValidationError) when the message cannot be an event.
    ``lenient`` shows a body that is not UTF-8 with replacement characters instead: for
    peeking at dead letters, whose original bytes stay in the queue.
    """
    properties_in = message.header.properties
    headers = dict(properties_in.headers or {})
    raw_meta = headers.pop(META, None)
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    returned = headers.get("x-delivery-count")
    redeliveries = (
        max(0, returned) if isinstance(returned, int) else (1 if message.redelivered else 0)
    )
    death = headers.get("x-first-death-reason")
    properties: dict[str, PropertyValue] = {}
    for key, value in headers.items():
        if key in BROKER_HEADERS:
            continue
        # Other publishers may send any AMQP type; an event property is str, int, float or bool.
        properties[key] = value if isinstance(value, str | int | float) else _text(value)
    fields: dict[str, Any] = {
        "event_type": properties_in.message_type or fallback_type,
        "queue_name": _text(meta.get("queue_name", "")),
        "body": message.body.decode(errors="replace" if lenient else "strict"),
        "content_type": properties_in.content_type or "application/octet-stream",
        "correlation_id": properties_in.correlation_id,
        "properties": properties,
    }
    if properties_in.message_id:
        fields["id"] = properties_in.message_id
    if "timestamp" in meta:
        fields["timestamp"] = _moment(meta["timestamp"])
    elif properties_in.timestamp is not None:
        stamp = properties_in.timestamp
        fields["timestamp"] = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    elif lenient:
        fields["timestamp"] = UNKNOWN_TIME  # a peeked dead letter: not "just now"
    if "enqueue_time" in meta:
        fields["enqueue_time"] = _moment(meta["enqueue_time"])
    for key in ("url", "session_id", "causation_id"):
        if key in meta:
            fields[key] = _text(meta[key])
    recorded = _recorded_deliveries(meta.get("deliveries", 0))
    due = meta.get("due")
    return Decoded(
        event=Event(**fields),
        recorded=recorded,
        returns=redeliveries,
        due_ms=int(due) if due is not None else None,
        dead=dead_letter_of(meta, death, recorded),
    )


MAX_RECORDED_DELIVERIES = 2000
"""The most deliveries a header may record (Service Bus's own cap on max delivery count)."""


def _recorded_deliveries(value: object) -> int:
    """The delivery count a ``beehive`` header records; anything else makes the message
    unreadable (dead-lettered), so a forged count can never buy retries past max_deliveries."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"the beehive header's deliveries must be an integer, not {value!r}")
    if not 0 <= value <= MAX_RECORDED_DELIVERIES:
        raise ValueError(
            f"the beehive header's deliveries must be between 0 and {MAX_RECORDED_DELIVERIES}, "
            f"not {value}"
        )
    return value


def dead_letter_of(meta: dict[str, Any], death: object, deliveries: int) -> DeadLetterInfo | None:
    """The dead-letter metadata in a message's ``beehive`` header, or the broker's reason."""
    if "reason" in meta:
        at = meta.get("dead_lettered_at")
        return DeadLetterInfo(
            reason=_text(meta["reason"]),
            description=_optional(meta.get("description")),
            actor=_optional(meta.get("actor")),
            error_type=_optional(meta.get("error_type")),
            delivery_count=deliveries,
            dead_lettered_at=_moment(at) if at is not None else None,
        )
    if death is not None:
        return DeadLetterInfo(
            _BROKER_REASONS.get(_text(death), _text(death)), None, None, None, deliveries
        )
    return None


def _optional(value: object) -> str | None:
    return None if value is None else _text(value)


def dead_lettered(decoded: Decoded) -> Event:
    """A dead-lettered event as ``dead_letters`` shows it: its metadata among its properties."""
    dead = decoded.dead or DeadLetterInfo("Unknown", delivery_count=decoded.recorded)
    return dead.stamp(decoded.event)
