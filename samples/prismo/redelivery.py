"""What an actor publishes when it finds its work already done."""

from __future__ import annotations

from beehive import Event


def replay(event: Event, outcome: list[Event]) -> list[Event]:
    """``outcome`` again if ``event`` is a redelivery, else nothing.

    The host publishes an actor's events before completing its message, so when a message
    comes back (``delivery_count > 1``) the earlier attempt may have done the work but failed
    to publish: publishing the recorded outcome again keeps the process moving, and is safe
    because every consumer is idempotent. A *duplicate* message (a first delivery that finds
    the work done) publishes nothing, so duplicates do not multiply downstream.
    """
    return outcome if event.delivery_count > 1 else []
