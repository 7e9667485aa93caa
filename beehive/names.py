"""Queue names: ``"Topic-Subscription"`` for a subscription, ``"Queue"`` for a plain queue."""

from __future__ import annotations

import re
from enum import Enum
from typing import Final

_PART: Final = re.compile(r"[A-Za-z0-9_.]+")
_RULE: Final = (
    "names are made of letters, digits, '_' and '.', "
    "with one '-' between a topic and its subscription"
)


class QueueKind(Enum):
    QUEUE = "queue"
    TOPIC = "topic"
    SUBSCRIPTION = "subscription"


class QueueName:
    """A parsed, immutable queue name.

    ``QueueName("OrderAccepted-Payment")`` is subscription ``Payment`` of topic
    ``OrderAccepted``; ``QueueName("Jobs")`` is the plain queue ``Jobs``;
    ``QueueName.topic_of("OrderAccepted")`` names the topic itself (what publishers send to).
    """

    __slots__ = ("_hash", "_kind", "_subscription", "_topic")
    _topic: str
    _subscription: str | None
    _kind: QueueKind
    _hash: int

    def __init__(self, name: str | QueueName) -> None:
        if isinstance(name, QueueName):
            topic, subscription, kind = name.topic, name.subscription, name.kind
        elif not isinstance(name, str):
            raise TypeError(f"a queue name must be a str, not {type(name).__name__}")
        else:
            parts = name.split("-")
            if len(parts) > 2 or not all(_PART.fullmatch(part) for part in parts):
                raise ValueError(f"invalid queue name {name!r}: {_RULE}")
            topic = parts[0]
            subscription = parts[1] if len(parts) == 2 else None
            kind = QueueKind.SUBSCRIPTION if subscription else QueueKind.QUEUE
        object.__setattr__(self, "_topic", topic)
        object.__setattr__(self, "_subscription", subscription)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_hash", hash((topic, subscription, kind)))

    @classmethod
    def topic_of(cls, topic: str) -> QueueName:
        """The name of a topic (a bare name alone would be read as a plain queue)."""
        name = cls(topic)
        if name.is_subscription:
            raise ValueError(f"invalid topic name {topic!r}: a topic name has no '-'")
        object.__setattr__(name, "_kind", QueueKind.TOPIC)
        object.__setattr__(name, "_hash", hash((name.topic, None, QueueKind.TOPIC)))
        return name

    def __setattr__(self, attr: str, value: object) -> None:
        raise AttributeError("QueueName is immutable")

    @property
    def topic(self) -> str:
        """The topic of a subscription, or the name of a topic or plain queue."""
        return self._topic

    @property
    def subscription(self) -> str | None:
        return self._subscription

    @property
    def kind(self) -> QueueKind:
        return self._kind

    @property
    def is_subscription(self) -> bool:
        return self._kind is QueueKind.SUBSCRIPTION

    @property
    def is_topic(self) -> bool:
        return self._kind is QueueKind.TOPIC

    def __str__(self) -> str:
        return f"{self._topic}-{self._subscription}" if self._subscription else self._topic

    def __repr__(self) -> str:
        if self.is_topic:
            return f"QueueName.topic_of({self._topic!r})"
        return f"QueueName({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueueName):
            return NotImplemented
        return (self._topic, self._subscription, self._kind) == (
            other._topic,
            other._subscription,
            other._kind,
        )

    def __hash__(self) -> int:
        return self._hash
