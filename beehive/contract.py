"""The event contract of a network of actors: every event type, the pydantic model of its body
where known, who emits it, who reads it, and what crosses the network's boundary.

``beehive check``, ``beehive asyncapi`` and ``beehive schema`` all read the network through
:func:`build`. An event type's model is the pydantic class of the same name (the name
``Event(model)`` gives the event), looked for in this order: the declared external events,
the model classes given in the actors' ``emits=[...]``, the models their code reads events as
(``event.body_as(X)``, with ``X`` a name or a dotted path such as ``events.OrderPlaced``), then
the pydantic classes the actors' modules and the modules given define or import by name.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from beehive.actors import ActorDescriptor, _modules, _topic_name
from beehive.sending import event_models


@dataclass(frozen=True, slots=True, init=False)
class ExternalEvents:
    """Events that cross the network's boundary, declared in code next to the actors.

    ``inputs`` are published from outside (a web shop, another team's service), so no actor
    emits them; ``outputs`` are read outside, so no actor reads them. Give models where you
    have them (their schemas join the contract) or topic names. ``beehive check`` finds every
    ``ExternalEvents`` at module level in the modules it is given::

        external = ExternalEvents(inputs=[OrderAccepted], outputs=["OrderShipped"])
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    models: tuple[type[BaseModel], ...] = field(repr=False)
    description: str

    def __init__(
        self,
        *,
        inputs: Sequence[type[BaseModel] | str] = (),
        outputs: Sequence[type[BaseModel] | str] = (),
        description: str = "",
    ) -> None:
        models = tuple(m for m in (*inputs, *outputs) if not isinstance(m, str))
        for model in models:
            if not (inspect.isclass(model) and issubclass(model, BaseModel)):
                raise TypeError(
                    f"ExternalEvents takes pydantic model classes or topic names, not {model!r}"
                )
        object.__setattr__(self, "inputs", tuple(_topic_name(i) for i in inputs))
        object.__setattr__(self, "outputs", tuple(_topic_name(o) for o in outputs))
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "description", description)


def find_externals(*targets: str | ModuleType) -> list[ExternalEvents]:
    """Every module-level :class:`ExternalEvents` in the targets (packages recursively)."""
    found: dict[int, ExternalEvents] = {}
    for target in targets:
        module = sys.modules[target] if isinstance(target, str) else target
        for each in _modules(module):
            for value in vars(each).values():
                if isinstance(value, ExternalEvents):
                    found.setdefault(id(value), value)
    return list(found.values())


@dataclass(frozen=True, slots=True)
class EventType:
    """One event type of the network: a topic (or plain queue) and what flows through it."""

    name: str
    model: type[BaseModel] | None
    emitted_by: tuple[ActorDescriptor, ...]
    read_by: tuple[ActorDescriptor, ...]
    external_input: bool = False
    external_output: bool = False

    @property
    def is_queue(self) -> bool:
        """Read from a plain queue rather than from subscriptions of a topic."""
        return any(not d.queue.is_subscription for d in self.read_by)


@dataclass(frozen=True, slots=True)
class Contract:
    descriptors: tuple[ActorDescriptor, ...]
    events: tuple[EventType, ...]
    """Sorted by name."""
    externals: tuple[ExternalEvents, ...] = ()

    def event(self, name: str) -> EventType | None:
        return next((e for e in self.events if e.name == name), None)

    @property
    def models(self) -> dict[str, type[BaseModel]]:
        """The known models, by event type."""
        return {e.name: e.model for e in self.events if e.model is not None}


def build(
    descriptors: Iterable[ActorDescriptor],
    externals: Iterable[ExternalEvents] = (),
    modules: Iterable[ModuleType] = (),
) -> Contract:
    """The contract of the enabled ``descriptors`` with the ``externals`` declared."""
    descriptors = tuple(d for d in descriptors if d.enabled)
    externals = tuple(externals)
    readers: dict[str, list[ActorDescriptor]] = {}
    emitters: dict[str, list[ActorDescriptor]] = {}
    for d in descriptors:
        readers.setdefault(d.queue.topic, []).append(d)
        for topic in d.emits:
            emitters.setdefault(topic, []).append(d)
    inputs = {name for x in externals for name in x.inputs}
    outputs = {name for x in externals for name in x.outputs}
    names = sorted(readers.keys() | emitters.keys() | inputs | outputs)
    models = _models(set(names), descriptors, externals, modules)
    events = tuple(
        EventType(
            name=name,
            model=models.get(name),
            emitted_by=tuple(emitters.get(name, ())),
            read_by=tuple(readers.get(name, ())),
            external_input=name in inputs,
            external_output=name in outputs,
        )
        for name in names
    )
    return Contract(descriptors, events, externals)


def _models(
    names: set[str],
    descriptors: Sequence[ActorDescriptor],
    externals: Sequence[ExternalEvents],
    modules: Iterable[ModuleType],
) -> dict[str, type[BaseModel]]:
    """The model of each event type: the first pydantic class of its name, looking in the
    declared externals, the actors' ``emits`` and ``body_as`` calls, then the actors' modules
    and the modules given."""
    found: dict[str, type[BaseModel]] = {}
    for model in (
        *(m for x in externals for m in x.models),
        *(m for d in descriptors for m in d.emitted_models),
        *(m for cls in dict.fromkeys(d.actor_type for d in descriptors) for m in _read_models(cls)),
    ):
        found.setdefault(model.__name__, model)
    walked = [each for module in modules for each in _modules(module)]
    for name, model in event_models([*descriptors, *walked]).items():
        found.setdefault(name, model)
    return {name: model for name, model in found.items() if name in names}


def _read_models(cls: type) -> Iterator[type[BaseModel]]:
    """The models an actor class reads its events as: each ``.body_as(X)`` call in its source,
    ``X`` resolved in its module (or the closure of its ``process``). A class whose source
    cannot be read has none."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return
    module = sys.modules.get(cls.__module__)
    namespace: dict[str, Any] = dict(vars(module)) if module is not None else {}
    process = cls.__dict__.get("process")
    if inspect.isfunction(process):
        namespace.update(inspect.getclosurevars(process).nonlocals)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "body_as"
            and len(node.args) == 1
        ):
            model = _resolve(node.args[0], namespace)
            if inspect.isclass(model) and issubclass(model, BaseModel):
                yield model


def _resolve(node: ast.expr, namespace: Mapping[str, Any]) -> Any:
    """The value of a name or a dotted path (``events.OrderPlaced``); None for anything else."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        return None if owner is None else getattr(owner, node.attr, None)
    return None
