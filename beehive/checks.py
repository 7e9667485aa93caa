"""Checks of an event network before it is deployed (``beehive check``).

Errors: a subscription to a topic that nothing emits and no :class:`ExternalEvents` declares
as an input (with the closest known name, for a typo); two actors on one subscription or
queue; one source read with contradicting settings; a reader without sessions of a topic
read with sessions elsewhere, when it emits what an actor reads with sessions (the order is
lost on the way); names and settings the broker would refuse. Warnings: an event emitted that
nothing reads and no external consumer is declared for; other subscriptions of one topic that
disagree about sessions (ordering holds for some only).
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from functools import cache

from beehive.actors import ActorDescriptor
from beehive.contract import Contract
from beehive.limits import BrokerRules
from beehive.names import QueueName


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, printed as ``file:line: severity: message``."""

    severity: Severity
    message: str
    topic: str
    actor: str | None = None
    """``ActorClass@Topic-Subscription``, when one actor is at fault."""
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file else ""
        return f"{where}{self.severity.value}: {self.message}"


def check(contract: Contract, rules: BrokerRules) -> list[Problem]:
    """Every problem of the network, errors and warnings, in a stable order."""
    problems = [
        *_unpublished_sources(contract),
        *_unread_events(contract),
        *_shared_sources(contract.descriptors),
        *_mixed_sessions(contract),
        *_broker_refusals(contract, rules),
    ]
    return sorted(
        dict.fromkeys(problems),
        key=lambda p: (p.file or "", p.line or 0, p.severity.value, p.message),
    )


def _problem(
    severity: Severity, message: str, topic: str, descriptor: ActorDescriptor | None = None
) -> Problem:
    if descriptor is None:
        return Problem(severity, message, topic)
    file, line = _location(descriptor.actor_type)
    return Problem(severity, message, topic, descriptor.name, file, line)


@cache
def _location(cls: type) -> tuple[str | None, int | None]:
    """Where a class is written: its file (relative to the working directory when under it)
    and the line of its first decorator."""
    try:
        path = inspect.getsourcefile(cls)
        _, line = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return None, None
    if path is None:
        return None, None
    relative = os.path.relpath(path)
    return (path if relative.startswith("..") else relative), line


def _unpublished_sources(contract: Contract) -> Iterable[Problem]:
    known = sorted(e.name for e in contract.events if e.emitted_by or e.external_input)
    for event in contract.events:
        if event.emitted_by or event.external_input:
            continue
        close = difflib.get_close_matches(event.name, known, n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        for reader in event.read_by:
            yield _problem(
                Severity.ERROR,
                f"{reader.name} reads {event.name}, which no actor emits and no "
                f"ExternalEvents declares as an input{hint}",
                event.name,
                reader,
            )


def _unread_events(contract: Contract) -> Iterable[Problem]:
    for event in contract.events:
        if event.read_by or event.external_output:
            continue
        for emitter in event.emitted_by:
            yield _problem(
                Severity.WARNING,
                f"{emitter.name} emits {event.name}, which no actor reads and no "
                "ExternalEvents declares as an output",
                event.name,
                emitter,
            )


def _shared_sources(descriptors: Iterable[ActorDescriptor]) -> Iterable[Problem]:
    by_source: dict[str, list[ActorDescriptor]] = {}
    for d in descriptors:
        by_source.setdefault(d.source, []).append(d)
    for source, group in by_source.items():
        if len(group) < 2:
            continue
        names = ", ".join(d.name for d in group)
        what = "subscription" if group[0].queue.is_subscription else "queue"
        for d in group[1:]:
            yield _problem(
                Severity.ERROR,
                f"{names} read one {what} {source}: each message reaches only one of them; "
                f"give each actor its own {what}",
                group[0].queue.topic,
                d,
            )
            settings = ("max_deliveries", "lease_seconds", "sessions")
            differ = [s for s in settings if getattr(d, s) != getattr(group[0], s)]
            if differ:
                yield _problem(
                    Severity.ERROR,
                    f"{group[0].name} and {d.name} read {source} with different "
                    f"{', '.join(differ)}; one {what} has one set of settings",
                    group[0].queue.topic,
                    d,
                )


def _mixed_sessions(contract: Contract) -> Iterable[Problem]:
    """Subscriptions of one topic that disagree about sessions. A reader without them sees a
    session's events in any order: a warning, unless it emits an event that an actor reads
    with sessions, which then gets them in an order that has lost the topic's (an error)."""
    readers = {e.name: e.read_by for e in contract.events}
    by_topic: dict[str, list[ActorDescriptor]] = {}
    for d in contract.descriptors:
        if d.queue.is_subscription:
            by_topic.setdefault(d.queue.topic, []).append(d)
    for topic, group in by_topic.items():
        ordered = [d for d in group if d.sessions]
        if not ordered or len(ordered) == len(group):
            continue
        sessions = ", ".join(d.source for d in ordered)
        for d in group:
            if d.sessions:
                continue
            unordered = f"{d.name} reads {topic} without sessions while {sessions} requires them"
            downstream = [
                (emitted, reader)
                for emitted in d.emits
                for reader in readers.get(emitted, ())
                if reader.sessions
            ]
            if not downstream:
                yield _problem(
                    Severity.WARNING,
                    f"{unordered}: events of one session reach it in any order",
                    topic,
                    d,
                )
            for emitted, reader in downstream:
                yield _problem(
                    Severity.ERROR,
                    f"{unordered}, and emits {emitted}, which {reader.name} reads with sessions: "
                    f"the order of {topic}'s sessions is lost on the way",
                    topic,
                    d,
                )


def _broker_refusals(contract: Contract, rules: BrokerRules) -> Iterable[Problem]:
    for d in contract.descriptors:
        for problem in rules.name_problems(d.queue) + rules.settings_problems(d.settings):
            yield _problem(Severity.ERROR, f"{d.name}: {problem}", d.queue.topic, d)
    for event in contract.events:
        if not event.read_by:
            for problem in rules.name_problems(QueueName.topic_of(event.name)):
                for d in event.emitted_by:
                    yield _problem(Severity.ERROR, f"{d.name} emits: {problem}", event.name, d)
    yield from _clashes(contract, rules)


def _clashes(contract: Contract, rules: BrokerRules) -> Iterable[Problem]:
    """Names the broker takes for one entity (Service Bus ignores case), where an actor reads
    or emits one of them (names only declared as external are no entity the network makes)."""
    entities: dict[str, ActorDescriptor | None] = {}
    for event in contract.events:
        entities.setdefault(event.name, (*event.read_by, *event.emitted_by, None)[0])
    for descriptor in contract.descriptors:
        entities.setdefault(descriptor.source, descriptor)
    names = sorted(entities)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if rules.same_entity(a, b):
                d = entities[b] or entities[a]
                if d is None:
                    continue
                yield _problem(
                    Severity.ERROR,
                    f"{d.name}: {a} and {b} differ only in case: {rules.broker} takes them for "
                    "one entity",
                    b,
                    d,
                )
