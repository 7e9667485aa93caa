"""The journal's view of a failed run: the journeys of the correlations its problems name.

Each line is one message handled by one actor, as ``beehive trace`` shows it (simulated time
since the start, actor, event type and id, delivery, outcome), with the faults injected into
that very delivery.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from beehive.journal import Journal, JournalEntry
from beehive.testing.simulation._faults import Fault

if TYPE_CHECKING:
    from beehive.testing.simulation._end import Violation
    from beehive.testing.simulation._middleware import Settled

__all__ = ["journeys"]

MAX_JOURNEYS = 3


async def journeys(
    journal: Journal,
    settlements: Sequence[Settled],
    violations: Sequence[Violation],
    faults: Sequence[Fault],
    start: datetime,
) -> str:
    """The journeys of the correlations named in ``violations`` (else those the faults hit)."""
    correlations = list(dict.fromkeys(settled.correlation_id for settled in settlements))
    text = "\n".join(violation.problem for violation in violations)
    found = {c: where for c in correlations if (where := _position(text, c)) is not None}
    named = sorted(found, key=found.__getitem__)  # in the order the problems name them
    if not named:
        hit = {fault.event_id for fault in faults}
        named = list(dict.fromkeys(s.correlation_id for s in settlements if s.event_id in hit))
    if not named:
        return (
            "no journey to show: the problems name no correlation, and no fault struck (a "
            "problem that names the correlation it is about, an order id, shows its journey)"
        )
    told = []
    for correlation in named[:MAX_JOURNEYS]:
        entries = await journal.journey(correlation)
        told.append(_render(correlation, entries, faults, start))
    if len(named) > MAX_JOURNEYS:
        told.append(f"(and {len(named) - MAX_JOURNEYS} more journeys)")
    return "\n".join(told)


def _position(text: str, correlation: str) -> int | None:
    """Where ``text`` first names ``correlation`` as a word of its own (``o-1`` is not in
    ``o-10``), or None."""
    named = re.search(rf"(?<![\w-]){re.escape(correlation)}(?![\w-])", text)
    return None if named is None else named.start()


def _render(
    correlation: str, entries: Sequence[JournalEntry], faults: Sequence[Fault], start: datetime
) -> str:
    by_delivery: dict[tuple[str, str, int], list[Fault]] = {}
    for fault in faults:
        by_delivery.setdefault((fault.source, fault.event_id, fault.delivery), []).append(fault)
    actor_width = max((len(entry.actor) for entry in entries), default=0)
    type_width = max((len(entry.event_type) for entry in entries), default=0)
    handled = f"{len(entries)} message{'' if len(entries) == 1 else 's'} handled"
    lines = [f"journey of {correlation} ({handled}):"]
    for entry in entries:
        offset = (entry.timestamp - start).total_seconds()
        source = entry.actor.partition("@")[2]
        hit = by_delivery.get((source, entry.event_id, entry.delivery_count), [])
        marks = "".join(f"  <- {_mark(fault)}" for fault in hit)
        lines.append(
            f"  {offset:9.3f}s  {entry.actor:<{actor_width}}  {entry.event_type:<{type_width}}  "
            f"{entry.event_id}  delivery {entry.delivery_count}  {entry.outcome}{marks}"
        )
    return "\n".join(lines)


def _mark(fault: Fault) -> str:
    what = fault.kind.replace("_", " ")
    return f"{what} ({fault.detail})" if fault.detail else what
