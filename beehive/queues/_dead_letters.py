"""What every backend and tool shares about dead letters: selecting, re-stamping, describing."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from beehive.events import Event, PropertyValue
from beehive.queues.base import (
    DEAD_LETTER_DESCRIPTION,
    DEAD_LETTER_REASON,
    REPLAY_COUNT,
    REPLAYED_AT,
)


def selected(
    event_id: str | None,
    dead_letter_reason: str | None,
    *,
    ids: Collection[str] | None,
    reason: str | None,
) -> bool:
    """Whether a dead letter is selected by ``ids`` and ``reason`` (text its reason contains)."""
    if ids is not None and event_id not in ids:
        return False
    return reason is None or reason in (dead_letter_reason or "")


def replayed(event: Event, now: datetime | None = None) -> Event:
    """``event`` as it goes back to its queue: no dead-letter properties, the replay recorded."""
    properties: dict[str, PropertyValue] = {
        key: value
        for key, value in event.properties.items()
        if key not in (DEAD_LETTER_REASON, DEAD_LETTER_DESCRIPTION)
    }
    count = properties.get(REPLAY_COUNT, 0)
    properties[REPLAY_COUNT] = (count if isinstance(count, int) else 0) + 1
    properties[REPLAYED_AT] = (now or datetime.now(UTC)).isoformat()
    return event.model_copy(update={"properties": properties, "delivery_count": 0})


_ACTOR = re.compile(r"^(\S+@\S+) raised ")


def actor_of(reason: str) -> str | None:
    """The actor named by a host's dead-letter reason (``Actor@source raised ...``), if any."""
    match = _ACTOR.match(reason)
    return match.group(1) if match else None


def summary(event: Event, now: datetime | None = None) -> dict[str, Any]:
    """A dead letter as tools show it: JSON-ready, one line of a table."""
    reason = str(event.properties.get(DEAD_LETTER_REASON, ""))
    description = event.properties.get(DEAD_LETTER_DESCRIPTION)
    age = ((now or datetime.now(UTC)) - event.timestamp).total_seconds()
    return {
        "id": event.id,
        "event_type": event.event_type,
        "reason": reason,
        "description": None if description is None else str(description),
        "actor": actor_of(reason),
        "timestamp": event.timestamp.isoformat(),
        "age_seconds": round(max(age, 0.0), 3),
        "delivery_count": event.delivery_count,
        "correlation_id": event.correlation_id,
        "replay_count": event.properties.get(REPLAY_COUNT, 0),
    }
