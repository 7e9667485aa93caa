"""What replaying and purging dead letters share across backends: selecting and re-stamping."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

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
