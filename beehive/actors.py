"""Processor actors: the ``@actor`` decorator, their descriptors, and discovery."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from beehive.events import Event
from beehive.names import QueueName
from beehive.queues.base import QueueSettings

_DESCRIPTORS = "__beehive_actors__"
C = TypeVar("C", bound=type)


@runtime_checkable
class ProcessorActor(Protocol):
    """What an actor class provides: one coroutine that turns an event into zero or more."""

    async def process(self, event: Event) -> list[Event]: ...


def _topic_name(item: type[BaseModel] | str) -> str:
    name = item if isinstance(item, str) else getattr(item, "__name__", None)
    if not isinstance(name, str):
        raise TypeError(f"emits takes event model classes or topic names, not {item!r}")
    return QueueName.topic_of(name).topic


@dataclass(frozen=True, slots=True)
class ActorDescriptor:
    """How one actor class reads from one source queue (one ``@actor`` decoration).

    Build these by hand (or from a configuration file) to run actors without decorators.
    """

    actor_type: type
    """The actor class; the host builds one instance per message."""
    source: str
    """The queue it reads: ``Topic-Subscription`` or a plain queue name."""
    parallelism: int = 1
    """Messages processed at once by this actor in one host."""
    max_deliveries: int = 10
    """Deliveries before the message is dead-lettered."""
    lease_seconds: float = 60.0
    """Lock duration of a leased message (renewed while the actor runs)."""
    max_lease_seconds: float = 3600.0
    """Renewal stops after this long; the message is then redelivered."""
    sessions: bool = False
    """Ordered, one-at-a-time processing per ``session_id``."""
    emits: tuple[str, ...] = field(default=())
    """Topics the actor publishes (event models or names): created at start, drawn in graphs."""
    enabled: bool = True
    """A disabled actor is discovered but not run (switch one off by configuration)."""
    idempotent: bool = False
    """Run at most once per event id: the host's inbox records what it published, and a
    redelivery re-publishes that instead of processing again (see :mod:`beehive.inbox`)."""
    exclusive: bool = False
    """With ``idempotent``: run one copy of an event at a time across every host, by claiming
    it in the inbox's shared lock store first (see :mod:`beehive.claims`)."""
    emitted_models: tuple[type[BaseModel], ...] = field(default=(), repr=False, compare=False)
    """The model classes given in ``emits`` (filled in from it): their schemas are the
    contract's (``beehive asyncapi``, ``beehive schema``), wherever they are defined."""

    def __post_init__(self) -> None:
        _check_actor_type(self.actor_type)
        QueueName(self.source)  # raises ValueError naming the bad name and the rule
        if self.parallelism < 1:
            raise ValueError(f"{self.name}: parallelism must be at least 1, got {self.parallelism}")
        if self.exclusive and not self.idempotent:
            raise ValueError(
                f"{self.name}: exclusive=True needs idempotent=True (a claim guards the inbox "
                "record that makes a copy skip an event already processed)"
            )
        if self.max_lease_seconds < self.lease_seconds:
            raise ValueError(
                f"{self.name}: max_lease_seconds ({self.max_lease_seconds}) must be at least "
                f"lease_seconds ({self.lease_seconds})"
            )
        given = (e for e in self.emits if isinstance(e, type) and issubclass(e, BaseModel))
        models = (*self.emitted_models, *given)
        object.__setattr__(self, "emits", tuple(_topic_name(e) for e in self.emits))
        object.__setattr__(self, "emitted_models", tuple(dict.fromkeys(models)))
        self.settings  # validates max_deliveries and lease_seconds  # noqa: B018

    @property
    def name(self) -> str:
        """``ActorClass@Topic-Subscription``: unique per decoration, used in logs and stats."""
        return f"{self.actor_type.__name__}@{self.source}"

    @property
    def queue(self) -> QueueName:
        return QueueName(self.source)

    @property
    def settings(self) -> QueueSettings:
        """The broker settings of the source queue."""
        return QueueSettings(
            max_deliveries=self.max_deliveries,
            lease_seconds=self.lease_seconds,
            sessions=self.sessions,
            prefetch=self.parallelism,
        )


def _check_actor_type(actor_type: Any) -> None:
    if not inspect.isclass(actor_type):
        raise TypeError(f"an actor must be a class, not {actor_type!r}")
    process = getattr(actor_type, "process", None)
    if process is None:
        raise TypeError(
            f"{actor_type.__qualname__} has no process method: an actor defines "
            "'async def process(self, event: Event) -> list[Event]'"
        )
    if not inspect.iscoroutinefunction(process):
        raise TypeError(
            f"{actor_type.__qualname__}.process must be a coroutine function "
            "('async def process(self, event)')"
        )


def actor(
    source: str,
    *,
    parallelism: int = 1,
    max_deliveries: int = 10,
    lease_seconds: float = 60.0,
    max_lease_seconds: float = 3600.0,
    sessions: bool = False,
    emits: Sequence[type[BaseModel] | str] = (),
    idempotent: bool = False,
    exclusive: bool = False,
) -> Any:
    """Mark a class as a processor actor reading from ``source`` (``"Topic-Subscription"``).

    Stackable: each decoration is one descriptor, so one class can read several sources.
    ``emits`` names what the actor publishes, for topology and the event graph.
    ``idempotent`` runs the actor at most once per event id, through the host's inbox;
    ``exclusive`` (with it) also keeps two hosts from running copies of one event at once.
    """

    def decorate(cls: C) -> C:
        descriptor = ActorDescriptor(
            actor_type=cls,
            source=source,
            parallelism=parallelism,
            max_deliveries=max_deliveries,
            lease_seconds=lease_seconds,
            max_lease_seconds=max_lease_seconds,
            sessions=sessions,
            emits=tuple(_topic_name(e) for e in emits),
            emitted_models=tuple(e for e in emits if not isinstance(e, str)),
            idempotent=idempotent,
            exclusive=exclusive,
        )
        # Decorators apply bottom-up: prepend, so the tuple reads in written order. Read the
        # class's own __dict__ so a subclass does not inherit its parent's descriptors.
        existing: tuple[ActorDescriptor, ...] = cls.__dict__.get(_DESCRIPTORS, ())
        setattr(cls, _DESCRIPTORS, (descriptor, *existing))
        return cls

    return decorate


def descriptors_of(cls: type) -> tuple[ActorDescriptor, ...]:
    """The descriptors of a decorated class, in the order the decorators are written."""
    descriptors: tuple[ActorDescriptor, ...] = cls.__dict__.get(_DESCRIPTORS, ())
    return descriptors


def _modules(target: ModuleType) -> Iterable[ModuleType]:
    yield target
    path = getattr(target, "__path__", None)
    if path is not None:
        for info in pkgutil.walk_packages(path, prefix=f"{target.__name__}."):
            yield importlib.import_module(info.name)


def discover(*targets: str | ModuleType | type) -> list[ActorDescriptor]:
    """One descriptor per ``@actor`` decoration found in the targets.

    A target is a module or package (object or dotted name; packages are imported
    recursively) or a decorated class. Each class is reported once, in discovery order.
    """
    found: dict[type, None] = {}
    for target in targets:
        if isinstance(target, str):
            target = importlib.import_module(target)
        if isinstance(target, ModuleType):
            for module in _modules(target):
                for _, member in inspect.getmembers(module, inspect.isclass):
                    if _DESCRIPTORS in member.__dict__:
                        found.setdefault(member)
        elif inspect.isclass(target):
            if _DESCRIPTORS not in target.__dict__:
                raise TypeError(f"{target.__qualname__} is not decorated with @actor")
            found.setdefault(target)
        else:
            raise TypeError(
                f"discover takes modules, dotted names or actor classes, not {target!r}"
            )
    return [descriptor for cls in found for descriptor in descriptors_of(cls)]
