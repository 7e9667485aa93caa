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

# The first hex digit of the variant byte, from the digest's: its top two bits made 0b10.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


class Lineage:
    """What one handling has made so far: its cause and actor, and a count per event type.

    Made once per message (most of which make no event): what a derivation needs is built on
    the first one.
    """

    __slots__ = ("_actor", "_cause_id", "_counts")

    def __init__(self, cause_id: str, actor: str) -> None:
        self._cause_id = cause_id
        self._actor = actor
        self._counts: dict[str, int] | None = None

    def derive(self, event_type: str) -> str:
        """The id of the next event of ``event_type``: a UUID (version 8) of a hash."""
        counts = self._counts
        if counts is None:
            counts = self._counts = {}
        count = counts.get(event_type, 0)
        counts[event_type] = count + 1
        key = f"{self._actor}\x1f{self._cause_id}\x1f{event_type}\x1f{count}"
        text = blake2b(key.encode(), digest_size=16).hexdigest()
        # Version 8 (a layout of one's own, RFC 9562) in the 13th digit, the RFC's variant in
        # the 17th: set in the text, as setting the bits in the bytes would.
        return (
            f"{text[:8]}-{text[8:12]}-8{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:]}"
        )


HANDLING: ContextVar[Lineage | None] = ContextVar("beehive_handling", default=None)
"""The handling under way in this context, if any (``Event()`` reads it first, cheaply)."""


def derived_id(event_type: object) -> str | None:
    """The id an ``Event`` of ``event_type`` made now gets, or None outside a handling."""
    lineage = HANDLING.get()
    if lineage is None or not isinstance(event_type, str):
        return None
    return lineage.derive(event_type)


def handling(cause_id: str, actor: str) -> Token[Lineage | None]:
    """Events made from now on in this context descend from ``cause_id`` in ``actor``;
    give the token to :func:`done` when the handling ends."""
    return HANDLING.set(Lineage(cause_id, actor))


def done(token: Token[Lineage | None]) -> None:
    HANDLING.reset(token)
