"""What happens to the events an actor returns: stamped with their lineage, then published.

Shared by the host's consumer and the Azure Functions adapter, so that an event caused in a
function carries the same correlation and causation, and travels the same way, as one caused
in a host.
"""

from __future__ import annotations

from typing import Any

from beehive.events import Event
from beehive.queues.base import QueueOperator


def stamp_all(incoming: Event, results: Any) -> list[Event]:
    """The events an actor returned, stamped with correlation and causation."""
    if not results:
        return []
    if not isinstance(results, list | tuple):
        raise TypeError(f"process must return a list of Event, not {type(results).__name__}")
    return [_stamp(incoming, event) for event in results]


def _stamp(incoming: Event, outgoing: Any) -> Event:
    if not isinstance(outgoing, Event):
        raise TypeError(f"process must return a list of Event, and it held {outgoing!r}")
    return outgoing.evolve(
        {
            "correlation_id": outgoing.correlation_id or incoming.correlation_id or incoming.id,
            "causation_id": incoming.id,
        }
    )


async def publish(operator: QueueOperator, events: list[Event]) -> None:
    """Send ``events``: one push for one, else a batch per destination."""
    if not events:
        return
    if len(events) == 1:
        await operator.push(events[0])
        return
    groups: dict[str, list[Event]] = {}
    for event in events:
        groups.setdefault(event.queue_name, []).append(event)
    for group in groups.values():
        await operator.push_batch(group)
