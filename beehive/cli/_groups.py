"""How ``beehive topology --format bicep`` splits the actors into container apps.

Each group is one container app running ``beehive run --only`` its actors, scaled by KEDA on
the backlogs of the subscriptions and queues those actors read. By default an app holds the
actors of one Python module (``--groups module``): the code's own structure decides, so a
system whose actors live in one module keeps the single-app layout, and an actor that reads
every topic (a tracer, an auditor) kept in a module of its own no longer sizes the business
actors' app. ``--groups actor`` gives every actor class its own app, ``--groups single`` puts
them all in one, and ``--group NAME=ActorA+ActorB`` names groups explicitly (the actors it
does not name follow ``--groups``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from beehive.actors import ActorDescriptor
from beehive.cli._common import CommandError

GROUPINGS = ("module", "actor", "single")
MAX_GROUP_NAME = 16
"""``ca-<name>-<group>`` must fit a container app name (32); ``name`` has 12 at most."""
SINGLE = "all"
_VALID = re.compile(rf"[a-z][a-z0-9-]{{0,{MAX_GROUP_NAME - 1}}}")


@dataclass(frozen=True, slots=True)
class Group:
    """One container app: a name and the actor classes it runs (``--only``)."""

    name: str
    actors: tuple[str, ...]

    def descriptors(self, descriptors: Iterable[ActorDescriptor]) -> list[ActorDescriptor]:
        return [d for d in descriptors if d.actor_type.__name__ in self.actors]


def parse_group(raw: str) -> tuple[str, tuple[str, ...]]:
    """``checkout=PaymentActor+FraudCheckActor`` → ``("checkout", ("PaymentActor", ...))``."""
    name, _, actors = raw.partition("=")
    names = tuple(a for a in actors.split("+") if a)
    if not names:
        raise CommandError(f"--group takes NAME=ACTOR+ACTOR..., not {raw!r}")
    return _checked(name), names


def _checked(name: str) -> str:
    # Container Apps: lower-case letters, digits and '-', no '--', ending with a letter or digit
    if not _VALID.fullmatch(name) or name.endswith("-") or "--" in name:
        raise CommandError(
            f"group name {name!r}: use a lower-case letter, then up to {MAX_GROUP_NAME - 1} "
            "lower-case letters, digits or '-' (no '--', not ending with '-': it ends the "
            "container app's name)"
        )
    return name


def _kebab(text: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", text).lower()
    name = re.sub(r"[^a-z0-9]+", "-", words).strip("-")[:MAX_GROUP_NAME].rstrip("-")
    return name if name[:1].isalpha() else f"g-{name}"[:MAX_GROUP_NAME].rstrip("-")


def _derived(descriptor: ActorDescriptor, grouping: str) -> str:
    if grouping == "single":
        return SINGLE
    if grouping == "actor":
        return _kebab(descriptor.actor_type.__name__.removesuffix("Actor"))
    return _kebab(descriptor.actor_type.__module__.rsplit(".", 1)[-1])


def groups(
    descriptors: Sequence[ActorDescriptor],
    grouping: str = "module",
    explicit: Sequence[tuple[str, tuple[str, ...]]] = (),
) -> tuple[Group, ...]:
    """The container apps for ``descriptors``: the ``explicit`` groups, then the rest; an
    actor class with no enabled descriptor is in none."""
    if grouping not in GROUPINGS:
        raise CommandError(f"unknown grouping {grouping!r}; choose one of {', '.join(GROUPINGS)}")
    classes: dict[str, str] = {}  # class name -> module, in discovery order
    for d in descriptors:
        module = classes.setdefault(d.actor_type.__name__, d.actor_type.__module__)
        if module != d.actor_type.__module__:
            raise CommandError(
                f"two actor classes are named {d.actor_type.__name__} ({module}, "
                f"{d.actor_type.__module__}); --only could not tell them apart: rename one"
            )
    by_group: dict[str, list[str]] = {}
    placed: dict[str, str] = {}
    for name, actors in explicit:
        for actor in actors:
            if actor not in classes:
                raise CommandError(
                    f"--group {name}: no actor class named {actor}; known: "
                    f"{', '.join(sorted(classes))}"
                )
            if actor in placed:
                raise CommandError(f"{actor} is in two groups: {placed[actor]} and {name}")
            placed[actor] = name
            by_group.setdefault(name, []).append(actor)
    derived: dict[str, str] = {}  # what derived each automatic name: keeps two modules apart
    for d in descriptors:
        actor = d.actor_type.__name__
        if actor in placed:
            continue
        key = {"module": d.actor_type.__module__, "actor": actor}.get(grouping, "")
        name = derived.get(key) or _unique(_derived(d, grouping), by_group, derived)
        derived[key] = name
        placed[actor] = name
        by_group.setdefault(name, []).append(actor)
    # an actor disabled on every source it reads runs nowhere: the topology creates none of
    # its subscriptions, so an app of its own would read what does not exist
    enabled = {d.actor_type.__name__ for d in descriptors if d.enabled}
    kept = {name: [a for a in actors if a in enabled] for name, actors in by_group.items()}
    return tuple(Group(name, tuple(actors)) for name, actors in sorted(kept.items()) if actors)


def _unique(name: str, taken: dict[str, list[str]], derived: dict[str, str]) -> str:
    used = set(taken) | set(derived.values())
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name[: MAX_GROUP_NAME - len(str(n)) - 1].rstrip('-')}-{n}"
    return candidate
