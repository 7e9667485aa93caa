"""Event ids derived from their cause: handling an event again makes the very same events.

While an actor handles an event, an ``Event`` created without an id gets one derived from the
event being handled, the actor, the new event's type and how many of that type the actor made
before in this handling. A redelivery handled again (the first attempt's events went out, its
completion did not) therefore publishes the same events, not new ones, and an idempotent
actor downstream recognises them: effectively-once along the whole chain, not only per hop.
An actor that sets an id keeps it; outside a handling, ids are new ones (:mod:`beehive._ids`).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from hashlib import blake2b


class Lineage:
    """What one handling has made so far: its cause and actor, and a count per event type."""

    __slots__ = ("_counts", "_prefix")

    def __init__(self, cause_id: str, actor: str) -> None:
        self._prefix = f"{actor}\x1f{cause_id}\x1f"
        self._counts: dict[str, int] = {}

    def derive(self, event_type: str) -> str:
        """The id of the next event of ``event_type``: a UUID (version 8) of a hash."""
        count = self._counts.get(event_type, 0)
        self._counts[event_type] = count + 1
        digest = bytearray(
            blake2b(f"{self._prefix}{event_type}\x1f{count}".encode(), digest_size=16).digest()
        )
        digest[6] = digest[6] & 0x0F | 0x80  # version 8: a layout of one's own (RFC 9562)
        digest[8] = digest[8] & 0x3F | 0x80  # the RFC's variant
        text = digest.hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_handling: ContextVar[Lineage | None] = ContextVar("beehive_handling", default=None)


def derived_id(event_type: object) -> str | None:
    """The id an ``Event`` of ``event_type`` made now gets, or None outside a handling."""
    lineage = _handling.get()
    if lineage is None or not isinstance(event_type, str):
        return None
    return lineage.derive(event_type)


def handling(cause_id: str, actor: str) -> Token[Lineage | None]:
    """Events made from now on in this context descend from ``cause_id`` in ``actor``;
    give the token to :func:`done` when the handling ends."""
    return _handling.set(Lineage(cause_id, actor))


def done(token: Token[Lineage | None]) -> None:
    _handling.reset(token)
