"""Dead letters as tools show them (``beehive dlq``, the dashboard): one JSON-ready row each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from beehive._clock import utcnow
from beehive.events import Event
from beehive.queues.base import REPLAY_COUNT, UNKNOWN_TIME, DeadLetterInfo


def summary(event: Event, now: datetime | None = None) -> dict[str, Any]:
    """A dead letter as tools show it: its metadata read from properties of their own.

    ``timestamp`` and ``age_seconds`` are None when its message carried no time.
    """
    info = DeadLetterInfo.of(event)
    known = event.timestamp != UNKNOWN_TIME
    age = ((now or utcnow()) - event.timestamp).total_seconds()
    return {
        "id": event.id,
        "event_type": event.event_type,
        "reason": info.reason,
        "description": info.description,
        "actor": info.actor,
        "error_type": info.error_type,
        "dead_lettered_at": info.dead_lettered_at.isoformat() if info.dead_lettered_at else None,
        "timestamp": event.timestamp.isoformat() if known else None,
        "age_seconds": round(max(age, 0.0), 3) if known else None,
        "delivery_count": info.delivery_count,
        "correlation_id": event.correlation_id,
        "replay_count": event.properties.get(REPLAY_COUNT, 0),
    }
