"""What a run left behind, and the invariants that look at it."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from beehive.events import Event
from beehive.names import QueueName
from beehive.queues.memory import InMemoryQueueOperator
from beehive.testing.simulation._broker import DelayingBroker

__all__ = ["End", "Invariant", "Violation", "check"]

C = TypeVar("C")
M = TypeVar("M", bound=BaseModel)


class End(Generic[C]):
    """What a run left behind once idle: what invariants look at.

    ``container`` is what ``setup`` returned (its stores hold the state); :meth:`published`
    and :meth:`dead_letters` are every event published (the workload included) and every dead
    letter, in order, as :class:`~beehive.testing.ActorHarness` shows them.
    """

    def __init__(self, seed: int, container: C, broker: DelayingBroker) -> None:
        self.seed = seed
        self.container = container
        self._broker = broker

    @property
    def operator(self) -> InMemoryQueueOperator:
        """The run's broker, for what the methods here do not show (depths, dead letters by
        queue): the in-memory broker under the faults."""
        return self._broker

    def published(self, event_type: str | type[BaseModel] | None = None) -> list[Event]:
        """Every event published, optionally of one type."""
        if event_type is None:
            return list(self._broker.published)
        name = event_type if isinstance(event_type, str) else event_type.__name__
        return [event for event in self._broker.published if event.event_type == name]

    def published_bodies(self, model: type[M]) -> list[M]:
        """The bodies of every published event of ``model``'s type, validated."""
        return [event.body_as(model) for event in self.published(model)]

    def dead_letters(self, source: str | QueueName | None = None) -> list[Event]:
        """Every dead letter, optionally of one subscription or queue; each carries its reason
        in ``properties["dead_letter_reason"]``."""
        if source is None:
            return [event for _, event in self._broker.dead]
        name = QueueName(source)
        return [event for queue, event in self._broker.dead if queue == name]


Problems = Iterable[str] | AsyncIterable[str] | bool | None
Invariant = Callable[[End[C]], Problems | Awaitable[Problems]]
"""A check of a run's end: returns (or yields) the problems it finds, as strings (none, None
or True when it holds), or raises AssertionError. It may be ``async``: stores are read with
``await``."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One problem an invariant found."""

    invariant: str
    problem: str


async def check(invariants: Sequence[Invariant[C]], end: End[C]) -> list[Violation]:
    """Every problem the invariants find in ``end``, each under its invariant's name (an
    invariant that raises has found a problem too)."""
    found: list[Violation] = []
    for invariant in invariants:
        name = getattr(invariant, "__name__", repr(invariant))
        try:
            result = invariant(end)
            if inspect.isawaitable(result):
                result = await result
            if isinstance(result, AsyncIterable):
                result = [problem async for problem in result]
            problems = _problems(result)
        except AssertionError as error:
            problems = [str(error) or "assertion failed"]
        except Exception as error:
            problems = [f"the invariant raised {type(error).__name__}: {error}"]
        found += [Violation(name, problem) for problem in problems]
    return found


def _problems(result: object) -> list[str]:
    if result is None or result is True:
        return []
    if result is False:
        return ["it returned False"]
    if isinstance(result, str):
        return [result]
    if isinstance(result, Iterable):
        return [str(problem) for problem in result]
    raise TypeError(
        f"an invariant returns its problems (strings), None or a bool, not {type(result).__name__}"
    )
