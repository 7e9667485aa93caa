"""Event versions and upcasters: change an event's model without breaking the events in flight.

A model declares its version with ``@event_version(n)`` (undeclared: version 1), and
``Event(model)`` records it in the event's ``event_version`` property. When a deploy changes
a model, the events already in queues, dead-letter queues and replays are older: register an
upcaster per step (version n to n + 1, a function of the body as a dict) and give the host the
registry, ``ActorHost(..., upcasters=upcasters)``; it upgrades each older body, chained, before
the actor sees it. An event newer than the model (a producer deployed first) is dead-lettered
with a reason, never mis-read; so is an older one with a missing step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pydantic import BaseModel

from beehive.errors import EventVersionError

if TYPE_CHECKING:
    from beehive.events import Event

VERSION_PROPERTY: Final = "event_version"
"""The event property holding the version of its body; an event without it is version 1."""
_DECLARED: Final = "__beehive_event_version__"

M = TypeVar("M", bound=type[BaseModel])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns a body of version n (a JSON object, as a dict) into a body of version n + 1."""


def event_version(version: int) -> Callable[[M], M]:
    """Declare a model's current version (a class decorator; undeclared models are version 1)."""
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"an event version is an integer from 1, not {version!r}")

    def declare(model: M) -> M:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"@event_version decorates pydantic models, not {model!r}")
        setattr(model, _DECLARED, version)
        return model

    return declare


def declared_version(model: type[BaseModel]) -> int | None:
    """The version ``@event_version`` gave the model itself (not a base class), else None."""
    version: int | None = model.__dict__.get(_DECLARED)
    return version


def version_of(model: type[BaseModel]) -> int:
    """The model's current version: declared, or 1."""
    return declared_version(model) or 1


def version_of_event(event: Event) -> int:
    """The version of the event's body, from its ``event_version`` property (absent: 1)."""
    raw = event.properties.get(VERSION_PROPERTY, 1)
    try:
        version = int(raw)  # a broker may hand the property back as text
    except (TypeError, ValueError):
        version = 0
    if version < 1 or isinstance(raw, float | bool):
        raise EventVersionError(
            f"event {event.event_type} {event.id} has {VERSION_PROPERTY}={raw!r}; "
            "a version is an integer from 1"
        )
    return version


def check_version(event: Event, model: type[BaseModel]) -> None:
    """Refuse an event whose version is not the model's (``Event.body_as`` calls this)."""
    declared = declared_version(model)
    if event.properties.get(VERSION_PROPERTY) == declared:
        return  # both current, or both unversioned: the usual case, two lookups
    version, current = version_of_event(event), declared or 1
    if version > current:
        raise EventVersionError(
            f"event {event.event_type} {event.id} is version {version}, newer than "
            f"{model.__name__} here (version {current}): deploy the readers before the writers"
        )
    if version < current:
        raise EventVersionError(
            f"event {event.event_type} {event.id} is version {version} and {model.__name__} is "
            f"version {current}: register upcasters for it and give them to the host "
            "(ActorHost(..., upcasters=...))"
        )


class Upcasters:
    """The upcasters of a network, by event type: ``Upcasters(*models)`` also tracks models
    that have none yet, so their future versions are refused too.

    ::

        upcasters = Upcasters()

        @upcasters.register(OrderPlaced, from_version=1)
        def add_currency(body: dict[str, Any]) -> dict[str, Any]:
            return {**body, "currency": "EUR"}
    """

    def __init__(self, *models: type[BaseModel]) -> None:
        self._models: dict[str, type[BaseModel]] = {}
        self._steps: dict[tuple[str, int], Upcaster] = {}
        for model in models:
            self._track(model)

    def _track(self, model: type[BaseModel]) -> str:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"Upcasters track pydantic models, not {model!r}")
        name = model.__name__
        known = self._models.setdefault(name, model)
        if known is not model:
            raise ValueError(f"two models are named {name}: {known!r} and {model!r}")
        return name

    @property
    def models(self) -> dict[str, type[BaseModel]]:
        """The tracked models, by event type."""
        return dict(self._models)

    def steps(self, model: type[BaseModel]) -> list[int]:
        """The versions this registry upgrades ``model`` from, in order."""
        name = model.__name__
        return sorted(v for n, v in self._steps if n == name)

    def register(
        self, model: type[BaseModel], *, from_version: int
    ) -> Callable[[Upcaster], Upcaster]:
        """Decorate the function that upgrades ``model``'s bodies from ``from_version``."""

        def add(upcaster: Upcaster) -> Upcaster:
            self.add(model, from_version, upcaster)
            return upcaster

        return add

    def add(self, model: type[BaseModel], from_version: int, upcaster: Upcaster) -> None:
        """Register ``upcaster`` to turn version ``from_version`` of ``model`` into the next."""
        name = self._track(model)
        current = version_of(model)
        if not isinstance(from_version, int) or not 1 <= from_version < current:
            raise ValueError(
                f"{name} is version {current}: an upcaster goes from a version in "
                f"1..{current - 1} to the next, not from {from_version!r}"
            )
        if (name, from_version) in self._steps:
            raise ValueError(f"{name} already has an upcaster from version {from_version}")
        if not callable(upcaster):
            raise TypeError(f"an upcaster is a function of the body, not {upcaster!r}")
        self._steps[(name, from_version)] = upcaster

    def upcast(self, event: Event) -> Event:
        """The event with its body at the current version of its model.

        Events of untracked types, and current ones, are returned as they are. Raises
        :class:`~beehive.errors.EventVersionError` (the host dead-letters) for a version newer
        than the model, a missing step, or a body an upcaster cannot take.
        """
        model = self._models.get(event.event_type)
        if model is None:
            return event
        current = version_of(model)
        if event.properties.get(VERSION_PROPERTY, 1) == current:
            return event  # the usual case, kept to two lookups
        version = version_of_event(event)
        if version == current:
            return event
        if version > current:
            check_version(event, model)  # raises, saying it is newer
        body = self._body(event)
        for step in range(version, current):
            upcaster = self._steps.get((event.event_type, step))
            if upcaster is None:
                raise EventVersionError(
                    f"event {event.event_type} {event.id} is version {version}; {model.__name__}"
                    f" is version {current} and no upcaster goes from version {step} to "
                    f"{step + 1}"
                )
            try:
                body = upcaster(body)
            except Exception as error:
                raise EventVersionError(
                    f"upcasting event {event.event_type} {event.id} from version {step} failed: "
                    f"{type(error).__name__}: {error}"
                ) from error
        properties = {**event.properties, VERSION_PROPERTY: current}
        return event.evolve({"body": json.dumps(body), "properties": properties})

    def _body(self, event: Event) -> dict[str, Any]:
        try:
            body = json.loads(event.body or "null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise EventVersionError(
                f"event {event.event_type} {event.id} needs upcasting, and its body is not a "
                "JSON object"
            )
        return body


def find_upcasters(*modules: ModuleType) -> Upcasters | None:
    """The module-level :class:`Upcasters` of ``modules`` (packages walked), merged into one;
    None when there are none (``beehive run`` gives them to the host)."""
    from beehive.actors import _modules

    found = [
        value
        for module in modules
        for each in _modules(module)
        for value in vars(each).values()
        if isinstance(value, Upcasters)
    ]
    return merge(found) if found else None


def merge(registries: Iterable[Upcasters]) -> Upcasters:
    """One registry holding every model and upcaster of ``registries``."""
    merged = Upcasters()
    for registry in dict.fromkeys(registries):
        for model in registry._models.values():
            merged._track(model)
        for (name, step), upcaster in registry._steps.items():
            if merged._steps.setdefault((name, step), upcaster) is not upcaster:
                raise ValueError(f"{name} has two upcasters from version {step}")
    return merged


class _Upcasting:
    """An actor whose events are upgraded before it sees them."""

    __slots__ = ("_actor", "_upcasters")

    def __init__(self, actor: Any, upcasters: Upcasters) -> None:
        self._actor = actor
        self._upcasters = upcasters

    async def process(self, event: Event) -> Any:
        return await self._actor.process(self._upcasters.upcast(event))

    async def aclose(self) -> None:
        await self._actor.aclose()


def upcasting(factory: Callable[[], Any], upcasters: Upcasters) -> Callable[[], Any]:
    """``factory``, building actors that read every event at its model's current version."""
    return lambda: _Upcasting(factory(), upcasters)
