"""``beehive topology``: the topics, subscriptions and queues the actors need.

``--format bicep`` writes the ARM parameters file ``infra/bicep/main.bicep`` reads, so the
deployed entities, the modules and container each app runs, its actors and its autoscaling
rules always match the code (see :mod:`beehive.cli._groups` for how actors become apps).
``--format sql`` writes the SQL that creates the PostgreSQL stores' schema and tables, for a
DBA who creates them beforehand (the stores create them on first use otherwise); it needs no
actor modules.
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
from beehive.cli._common import (
    CommandError,
    add_option,
    add_selection,
    load_descriptors,
    modules_of,
)
from beehive.cli._groups import GROUPINGS, Group, groups, parse_group
from beehive.config import overrides_from_env
from beehive.limits import ServiceBusRules
from beehive.names import QueueName
from beehive.stores._postgres_schema import ddl

FORMATS = ("table", "json", "bicep", "sql")
PARAMETERS_SCHEMA = (
    "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
)
MIN_LOCK_SECONDS, MAX_LOCK_SECONDS = (
    ServiceBusRules.MIN_LOCK_SECONDS,
    ServiceBusRules.MAX_LOCK_SECONDS,
)
BACKLOG_PER_WORKER = 5
"""Scale rules add a replica for every ``parallelism * BACKLOG_PER_WORKER`` waiting messages."""
DEPLOYMENT_NAME = re.compile(r"[a-z][a-z0-9]{2,11}")
"""main.bicep's ``name``: it starts the storage account's name, which takes nothing else."""


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


@dataclass(frozen=True, slots=True)
class Deployment:
    """What ``--format bicep`` writes besides the entities: who runs which actors."""

    modules: tuple[str, ...]
    groups: tuple[Group, ...]
    descriptors: tuple[ActorDescriptor, ...]
    container: str | None = None
    name: str | None = None
    config: str | None = None

    def apps(self) -> list[dict[str, Any]]:
        """One entry per container app: its name, its actors, its scale rules."""
        apps = []
        for group in self.groups:
            mine = build(group.descriptors(self.descriptors))
            rules = [_scale_rule(s) for s in (*mine.subscriptions, *mine.queues)]
            apps.append({"name": group.name, "only": ",".join(group.actors), "scaleRules": rules})
        return apps


def bicep_parameters(topology: Topology, deployment: Deployment) -> dict[str, Any]:
    """The ARM deployment parameters of ``infra/bicep/main.bicep`` for these actors."""
    subscriptions = [
        {"topic": s.name.topic, "name": s.name.subscription, **_settings(s)}
        for s in topology.subscriptions
    ]
    queues = [{"name": q.name.topic, **_settings(q)} for q in topology.queues]
    given = {
        "name": deployment.name,
        "container": deployment.container,
        "config": deployment.config,
    }
    return {
        "$schema": PARAMETERS_SCHEMA,
        "contentVersion": "1.0.0.0",
        "parameters": {
            **{key: {"value": value} for key, value in given.items() if value},
            "modules": {"value": ",".join(deployment.modules)},
            "topics": {"value": list(topology.topics)},
            "subscriptions": {"value": subscriptions},
            "queues": {"value": queues},
            "groups": {"value": deployment.apps()},
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


def render(topology: Topology, format: str, deployment: Deployment | None = None) -> str:
    if format == "table":
        return as_table(topology) + "\n"
    if format == "json":
        return json.dumps(as_json(topology), indent=2) + "\n"
    if format == "bicep" and deployment is not None:
        return json.dumps(bicep_parameters(topology, deployment), indent=2) + "\n"
    raise CommandError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")


def configure(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_option(
        parser,
        "--format",
        env="BEEHIVE_TOPOLOGY_FORMAT",
        help=f"output format: {', '.join(FORMATS)} (bicep: the infra/bicep parameters file; "
        "sql: the PostgreSQL stores' tables)",
    )
    add_option(
        parser,
        "--schema",
        env="BEEHIVE_POSTGRES_SCHEMA",
        help="the PostgreSQL schema of --format sql",
    )
    add_option(
        parser,
        "--output",
        env="BEEHIVE_TOPOLOGY_OUTPUT",
        metavar="FILE",
        help="write to FILE, not stdout",
    )
    add_option(
        parser,
        "--container",
        metavar="MODULE:NAME",
        help="bicep: the dependency-injector container every app runs with (BEEHIVE_CONTAINER)",
    )
    add_option(
        parser,
        "--groups",
        env="BEEHIVE_TOPOLOGY_GROUPS",
        help=f"bicep: one container app per {' | '.join(GROUPINGS)} (single: one app for all)",
    )
    add_option(
        parser,
        "--group",
        env="BEEHIVE_TOPOLOGY_GROUP",
        many=True,
        metavar="NAME=ACTOR+ACTOR",
        help="bicep: a container app of its own for these actor classes (repeatable)",
    )
    add_option(
        parser,
        "--name",
        env="BEEHIVE_TOPOLOGY_NAME",
        help="bicep: main.bicep's name, which starts every resource's name",
    )


def main(args: argparse.Namespace) -> int:
    if args.format == "sql":
        try:
            write(ddl(args.schema), args.output)
        except ValueError as error:
            raise CommandError(str(error)) from None
        return 0
    descriptors = load_descriptors(args)
    deployment = None
    if args.format == "bicep":
        if args.name is not None and not DEPLOYMENT_NAME.fullmatch(args.name):
            raise CommandError(
                f"--name {args.name!r}: use 3 to 12 lower-case letters and digits, starting "
                "with a letter (it starts the storage account's name, which allows nothing else)"
            )
        _check_carried(args.config)
        deployment = Deployment(
            modules=tuple(modules_of(args)),
            groups=groups(descriptors, args.groups, [parse_group(g) for g in args.group]),
            descriptors=tuple(descriptors),
            container=args.container,
            name=args.name,
            config=args.config,
        )
    write(render(build(descriptors), args.format, deployment), args.output)
    return 0


def _check_carried(config: str | None) -> None:
    """Refuse per-actor settings the deployed apps would not read as the topology did."""
    from_variables = overrides_from_env()
    if from_variables:
        actors = ", ".join(sorted(from_variables))
        raise CommandError(
            f"per-actor settings from BEEHIVE_ACTOR__ variables ({actors})"
            " do not reach the deployed apps: put them in a TOML file in your package and give "
            "it with --config, which every app then reads (BEEHIVE_CONFIG)"
        )
    if config and Path(config).is_absolute():
        raise CommandError(
            f"--config {config!r}: give the file relative to the directory holding your "
            "package (the image's /app), where every app looks for it"
        )


def write(text: str, output: str | None) -> None:
    """Print ``text``, or write it to ``output``."""
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
    else:
        print(text, end="")
