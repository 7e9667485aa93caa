"""The host's metrics through ``prometheus_client``: a collector over the host's counters.

Per actor (labels ``actor="ActorClass@Topic-Subscription"`` and ``queue``): messages
received, succeeded, retried, dead-lettered, recognised as duplicates, whose lease was lost,
lease renewals, messages in flight, and a histogram of processing time. Per queue, from the
backend's ``depth()``: messages by state. Beside them, whatever the process's default
registry holds: the process and platform metrics, and the application's own.
:data:`METRICS` lists every family the host adds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.responses import Response

from beehive.queues.base import QueueDepth
from beehive.stats import PROCESSING_BUCKETS, ActorStats

if TYPE_CHECKING:
    from beehive.host import ActorHost

logger = logging.getLogger("beehive.metrics")

_COUNTERS = {
    "beehive_messages_received": ("received", "Messages leased from the actor's queue."),
    "beehive_messages_succeeded": ("succeeded", "Messages processed and completed."),
    "beehive_messages_retried": ("retried", "Messages abandoned for a retry."),
    "beehive_messages_dead_lettered": ("dead_lettered", "Messages the host dead-lettered."),
    "beehive_messages_duplicates": (
        "duplicates",
        "Redeliveries an idempotent actor's inbox recognised and completed unprocessed.",
    ),
    "beehive_messages_lease_lost": (
        "lease_lost",
        "Messages whose lease ran out, or whose settling failed, before they were settled.",
    ),
    "beehive_lease_renewals": ("lease_renewals", "Leases renewed during long processing."),
}
_IN_FLIGHT = "beehive_messages_in_flight"
_PROCESSING = "beehive_processing_seconds"
_QUEUE = "beehive_queue_messages"

METRICS: Mapping[str, tuple[str, str]] = {
    **{f"{name}_total": ("counter", text) for name, (_, text) in _COUNTERS.items()},
    _IN_FLIGHT: ("gauge", "Messages being processed now."),
    _PROCESSING: ("histogram", "Time spent processing, publishing and settling one message."),
    _QUEUE: (
        "gauge",
        "Messages in the actor's queue or subscription, by state: active, scheduled, leased, "
        "dead_lettered (the states the broker reports).",
    ),
}
"""Every metric family the host exposes: name -> (type, help). Counters end in ``_total``."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one scrape reports: counters by actor, each actor's queue, depths by queue."""

    stats: Mapping[str, ActorStats]
    queues: Mapping[str, str] = field(default_factory=dict)
    depths: Mapping[str, QueueDepth] = field(default_factory=dict)


class HostCollector(Collector):
    """The families of :data:`METRICS` for one :class:`Snapshot`."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def _labels(self, actor: str) -> list[str]:
        return [actor, self._snapshot.queues.get(actor, "")]

    def collect(self) -> Iterator[Metric]:
        stats = self._snapshot.stats
        labels = ["actor", "queue"]
        for name, (attribute, text) in _COUNTERS.items():
            counter = CounterMetricFamily(name, text, labels=labels)
            for actor, s in stats.items():
                counter.add_metric(self._labels(actor), getattr(s, attribute))
            yield counter
        in_flight = GaugeMetricFamily(_IN_FLIGHT, METRICS[_IN_FLIGHT][1], labels=labels)
        histogram = HistogramMetricFamily(_PROCESSING, METRICS[_PROCESSING][1], labels=labels)
        for actor, s in stats.items():
            in_flight.add_metric(self._labels(actor), s.in_flight)
            histogram.add_metric(self._labels(actor), _buckets(s), sum_value=s.processing_seconds)
        yield in_flight
        yield histogram
        queue = GaugeMetricFamily(_QUEUE, METRICS[_QUEUE][1], labels=["queue", "state"])
        for name, depth in self._snapshot.depths.items():
            for state in ("active", "scheduled", "leased", "dead_lettered"):
                value = getattr(depth, state)
                if value is not None:
                    queue.add_metric([name, state], value)
        yield queue


def _buckets(stats: ActorStats) -> list[tuple[str, float]]:
    """Cumulative counts per upper bound, then ``+Inf``: the host counts per bucket."""
    buckets, cumulative = [], 0
    for bound, count in zip(PROCESSING_BUCKETS, stats.processing_buckets, strict=False):
        cumulative += count
        buckets.append((str(float(bound)), float(cumulative)))
    buckets.append(("+Inf", float(sum(stats.processing_buckets))))
    return buckets


class _Default(Collector):
    """The process's default registry (process, platform and GC metrics, the app's own)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def registry(snapshot: Snapshot, *, default: bool = True) -> CollectorRegistry:
    """A registry of ``snapshot``'s families, and of the default registry's unless told not."""
    found = CollectorRegistry(auto_describe=False)
    found.register(HostCollector(snapshot))
    if default:
        found.register(_Default())
    return found


async def scrape(host: ActorHost, *, timeout: float = 2.0) -> Snapshot:
    """The counters of a running host, with the depth of every queue its actors read.

    A depth that fails or takes longer than ``timeout`` is left out, not an error: the
    broker may be away, and the scrape must answer anyway.
    """
    queues = {d.name: d.source for d in host.descriptors}
    depths: dict[str, QueueDepth] = {}
    for source in sorted(set(queues.values())):
        try:
            async with asyncio.timeout(timeout):
                depths[source] = await host.operator.depth(source)
        except Exception as error:
            logger.debug("no depth for %s: %s", source, error)
    return Snapshot(host.stats(), queues, depths)


async def metrics_response(host: ActorHost, accept: str | None) -> Response:
    """``/metrics`` for ``host``: Prometheus text, or OpenMetrics when ``accept`` asks for it."""
    encode, content_type = choose_encoder(accept or "")
    body = encode(registry(await scrape(host)))
    return Response(body, headers={"Content-Type": content_type})
