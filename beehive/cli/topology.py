"""``beehive topology``: the topics, subscriptions and queues the actors need.

``--format bicep`` writes the ARM parameters file ``infra/bicep/main.bicep`` reads, so the
deployed entities and the autoscaling rules always match the code.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beehive.actors import ActorDescriptor
from beehive.cli._common import CommandError, add_option, add_selection, load_descriptors
from beehive.limits import ServiceBusRules
from beehive.names import QueueName

FORMATS = ("table", "json", "bicep")
PARAMETERS_SCHEMA = (
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
)
MIN_LOCK_SECONDS, MAX_LOCK_SECONDS = (
    ServiceBusRules.MIN_LOCK_SECONDS,
    ServiceBusRules.MAX_LOCK_SECONDS,
)
BACKLOG_PER_WORKER = 5
"""Scale rules add a replica for every ``parallelism * BACKLOG_PER_WORKER`` waiting messages."""


@dataclass(frozen=True, slots=True)
class Source:
    """A subscription or plain queue that actors read, with its broker settings."""

    name: QueueName
    max_deliveries: int
    lease_seconds: float
    sessions: bool
    parallelism: int
    actors: tuple[str, ...]

    @property
    def lock_duration(self) -> str:
        """The lease as an ISO 8601 duration (``PT1M30S``), as Service Bus wants it."""
        lease = math.ceil(self.lease_seconds)
        if not MIN_LOCK_SECONDS <= lease <= MAX_LOCK_SECONDS:
            raise CommandError(
                f"{self.name}: lease_seconds {self.lease_seconds} is outside what Service Bus "
                f"allows ({MIN_LOCK_SECONDS} to {MAX_LOCK_SECONDS}); longer work is covered by "
                "lease renewal (max_lease_seconds)"
            )
        minutes, seconds = divmod(lease, 60)
        return "PT" + (f"{minutes}M" if minutes else "") + (f"{seconds}S" if seconds else "")

    @property
    def rule_name(self) -> str:
        """A Container Apps scale rule name: lower case letters, digits and '-'."""
        return re.sub(r"[^a-z0-9-]", "-", str(self.name).lower()).strip("-")[:63]


@dataclass(frozen=True, slots=True)
class Topology:
    topics: tuple[str, ...]
    subscriptions: tuple[Source, ...]
    queues: tuple[Source, ...]


def _merge(source: str, descriptors: Sequence[ActorDescriptor]) -> Source:
    first = descriptors[0]
    for other in descriptors[1:]:
        if (other.max_deliveries, other.lease_seconds, other.sessions) != (
            first.max_deliveries,
            first.lease_seconds,
            first.sessions,
        ):
            raise CommandError(
                f"{first.name} and {other.name} read {source} with different settings "
                "(max_deliveries, lease_seconds or sessions); one queue has one set"
            )
    return Source(
        name=first.queue,
        max_deliveries=first.max_deliveries,
        lease_seconds=first.lease_seconds,
        sessions=first.sessions,
        parallelism=sum(d.parallelism for d in descriptors),
        actors=tuple(d.name for d in descriptors),
    )


def build(descriptors: Iterable[ActorDescriptor]) -> Topology:
    """The entities ``descriptors`` read and publish to, sorted by name."""
    by_source: dict[str, list[ActorDescriptor]] = {}
    for descriptor in descriptors:
        if descriptor.enabled:
            by_source.setdefault(descriptor.source, []).append(descriptor)
    sources = [_merge(name, group) for name, group in sorted(by_source.items())]
    subscriptions = tuple(s for s in sources if s.name.is_subscription)
    queues = tuple(s for s in sources if not s.name.is_subscription)
    queue_names = {str(q.name) for q in queues}
    emitted = {topic for group in by_source.values() for d in group for topic in d.emits}
    topics = {s.name.topic for s in subscriptions} | (emitted - queue_names)
    return Topology(tuple(sorted(topics)), subscriptions, queues)


def _settings(source: Source) -> dict[str, Any]:
    return {
        "maxDeliveryCount": source.max_deliveries,
        "lockDuration": source.lock_duration,
        "requiresSession": source.sessions,
    }


def _scale_rule(source: Source) -> dict[str, Any]:
    name = source.name
    metadata = (
        {"topicName": name.topic, "subscriptionName": name.subscription}
        if name.is_subscription
        else {"queueName": name.topic}
    )
    target = source.parallelism * BACKLOG_PER_WORKER
    return {"name": source.rule_name, "metadata": {**metadata, "messageCount": str(target)}}


def bicep_parameters(topology: Topology) -> dict[str, Any]:
    """The ARM deployment parameters that ``infra/bicep/main.bicep`` declares for topology."""
    subscriptions = [
        {"topic": s.name.topic, "name": s.name.subscription, **_settings(s)}
        for s in topology.subscriptions
    ]
    queues = [{"name": q.name.topic, **_settings(q)} for q in topology.queues]
    rules = [_scale_rule(s) for s in (*topology.subscriptions, *topology.queues)]
    return {
        "$schema": PARAMETERS_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            "topics": {"value": list(topology.topics)},
            "subscriptions": {"value": subscriptions},
            "queues": {"value": queues},
            "scaleRules": {"value": rules},
        },
    }


def as_json(topology: Topology) -> dict[str, Any]:
    def source(s: Source) -> dict[str, Any]:
        return {
            "name": str(s.name),
            "max_deliveries": s.max_deliveries,
            "lease_seconds": s.lease_seconds,
            "sessions": s.sessions,
            "parallelism": s.parallelism,
            "actors": list(s.actors),
        }

    return {
        "topics": [
            {
                "name": topic,
                "subscriptions": [
                    source(s) for s in topology.subscriptions if s.name.topic == topic
                ],
            }
            for topic in topology.topics
        ],
        "queues": [source(q) for q in topology.queues],
    }


def as_table(topology: Topology) -> str:
    header = ("ENTITY", "KIND", "MAX DELIVERIES", "LEASE", "SESSIONS", "ACTORS")
    rows: list[tuple[str, ...]] = []
    for topic in topology.topics:
        rows.append((topic, "topic", "", "", "", ""))
        for s in topology.subscriptions:
            if s.name.topic == topic:
                rows.append((f"  {s.name}", "subscription", *_cells(s)))
    rows.extend((str(q.name), "queue", *_cells(q)) for q in topology.queues)
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    )


def _cells(source: Source) -> tuple[str, ...]:
    return (
        str(source.max_deliveries),
        f"{source.lease_seconds:g}s",
        "yes" if source.sessions else "no",
        ", ".join(source.actors),
    )


def render(topology: Topology, format: str) -> str:
    if format == "table":
        return as_table(topology) + "\n"
    if format == "json":
        return json.dumps(as_json(topology), indent=2) + "\n"
    if format == "bicep":
        return json.dumps(bicep_parameters(topology), indent=2) + "\n"
    raise CommandError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")


def configure(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_option(
        parser,
        "--format",
        env="BEEHIVE_TOPOLOGY_FORMAT",
        help=f"output format: {', '.join(FORMATS)} (bicep: the infra/bicep parameters file)",
    )
    add_option(
        parser,
        "--output",
        env="BEEHIVE_TOPOLOGY_OUTPUT",
        metavar="FILE",
        help="write to FILE, not stdout",
    )


def main(args: argparse.Namespace) -> int:
    text = render(build(load_descriptors(args)), args.format)
    write(text, args.output)
    return 0


def write(text: str, output: str | None) -> None:
    """Print ``text``, or write it to ``output``."""
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
    else:
        print(text, end="")
