"""The host's counters in the Prometheus text exposition format (version 0.0.4).

Per actor (label ``actor="ActorClass@Topic-Subscription"``, plus ``queue``): messages received,
succeeded, retried, dead-lettered, whose lease was lost, in flight, and the processing-time
histogram. Per queue, where the backend can tell: active and dead-lettered messages.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from beehive.queues.base import QueueDepth
from beehive.stats import PROCESSING_BUCKETS, ActorStats

if TYPE_CHECKING:
    from beehive.host import ActorHost

logger = logging.getLogger("beehive.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True, slots=True)
class _Family:
    name: str
    kind: str
    help: str


_COUNTERS = (
    (_Family("beehive_messages_received_total", "counter", "Messages leased."), "received"),
    (
        _Family("beehive_messages_succeeded_total", "counter", "Messages completed."),
        "succeeded",
    ),
    (
        _Family("beehive_messages_retried_total", "counter", "Messages abandoned for a retry."),
        "retried",
    ),
    (
        _Family("beehive_messages_dead_lettered_total", "counter", "Messages dead-lettered."),
        "dead_lettered",
    ),
    (
        _Family(
            "beehive_messages_lease_lost_total",
            "counter",
            "Messages whose lease ran out, or whose settling failed, before they were settled.",
        ),
        "lease_lost",
    ),
    (
        _Family(
            "beehive_messages_duplicates_total",
            "counter",
            "Redeliveries an idempotent actor's inbox recognised and completed unprocessed.",
        ),
        "duplicates",
    ),
    (_Family("beehive_messages_in_flight", "gauge", "Messages being processed now."), "in_flight"),
)
_PROCESSING = _Family(
    "beehive_processing_seconds",
    "histogram",
    "Time spent processing, publishing and settling one message.",
)
_QUEUE_ACTIVE = _Family(
    "beehive_queue_active_messages", "gauge", "Messages waiting in the queue or subscription."
)
_QUEUE_DEAD = _Family(
    "beehive_queue_dead_lettered_messages",
    "gauge",
    "Messages in the dead-letter queue of the queue or subscription.",
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value) if isinstance(value, float) else str(value)


def _header(family: _Family) -> list[str]:
    return [f"# HELP {family.name} {family.help}", f"# TYPE {family.name} {family.kind}"]


def _histogram(labels: Mapping[str, str], stats: ActorStats) -> list[str]:
    """Cumulative buckets (bounds ``PROCESSING_BUCKETS``), then ``+Inf``, sum and count."""
    lines = []
    cumulative = 0
    for bound, count in zip(PROCESSING_BUCKETS, stats.processing_buckets, strict=False):
        cumulative += count
        le = _labels(**labels, le=_number(float(bound)))
        lines.append(f"{_PROCESSING.name}_bucket{le} {cumulative}")
    finished = sum(stats.processing_buckets)
    name = _PROCESSING.name
    lines.append(f"{name}_bucket{_labels(**labels, le='+Inf')} {finished}")
    lines.append(f"{name}_sum{_labels(**labels)} {_number(float(stats.processing_seconds))}")
    lines.append(f"{name}_count{_labels(**labels)} {finished}")
    return lines


def render(
    stats: Mapping[str, ActorStats],
    *,
    queues: Mapping[str, str] | None = None,
    depths: Mapping[str, QueueDepth] | None = None,
) -> str:
    """The exposition text for ``stats`` (by actor name) and ``depths`` (by queue name).

    ``queues`` maps an actor name to the queue it reads, added as the ``queue`` label.
    """
    queues = queues or {}

    def labels(actor: str) -> dict[str, str]:
        return {"actor": actor, "queue": queues[actor]} if actor in queues else {"actor": actor}

    lines: list[str] = []
    for family, field in _COUNTERS:
        lines += _header(family)
        lines += [
            f"{family.name}{_labels(**labels(actor))} {getattr(s, field, 0)}"
            for actor, s in stats.items()
        ]
    lines += _header(_PROCESSING)
    for actor, s in stats.items():
        lines += _histogram(labels(actor), s)
    if depths:
        lines += _queue_lines(depths)
    return "\n".join(lines) + "\n"


def _queue_lines(depths: Mapping[str, QueueDepth]) -> Iterable[str]:
    yield from _header(_QUEUE_ACTIVE)
    for queue, depth in depths.items():
        yield f"{_QUEUE_ACTIVE.name}{_labels(queue=queue)} {depth.active}"
    yield from _header(_QUEUE_DEAD)
    for queue, depth in depths.items():
        yield f"{_QUEUE_DEAD.name}{_labels(queue=queue)} {depth.dead_lettered}"


async def scrape(host: ActorHost, *, timeout: float = 2.0) -> str:
    """The metrics of a running host, with the queue depths its operator can report.

    Backends that can count messages offer ``depth(name) -> QueueDepth`` (the in-memory one
    does); a depth that fails or takes longer than ``timeout`` is left out, not an error.
    """
    queues = {d.name: d.source for d in host.descriptors}
    depths: dict[str, QueueDepth] = {}
    depth = getattr(host.operator, "depth", None)
    if callable(depth):
        for source in sorted(set(queues.values())):
            try:
                async with asyncio.timeout(timeout):
                    depths[source] = await depth(source)
            except Exception as error:
                logger.debug("no depth for %s: %s", source, error)
    return render(host.stats(), queues=queues, depths=depths)
