"""The hook the host calls around each message when tracing or a journal is on.

An observer is decided once, when the host starts: with none, the consumer binds its plain
handling methods and pays nothing per message; with one, it binds the observed variants, which
call :meth:`Observer.begin` when a message is leased, :meth:`Observer.sending` around each
publish, and :meth:`Observer.end` once the message is settled (or abandoned by a stop).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from beehive.events import Event

Sent = Callable[[BaseException | None], None]


def _nothing(error: BaseException | None) -> None:
    return None


class Observer:
    """Does nothing; subclasses override what they watch. Hooks must not raise."""

    def begin(self, actor: str, event: Event) -> Any:
        """A leased message is about to be processed; returns a state given back to ``end``.

        Called in the worker's task, so context variables set here hold until ``end``.
        """
        return None

    def sending(self, events: list[Event]) -> tuple[list[Event], Sent]:
        """Events are about to be published: returns the events to publish (they may carry
        more properties) and a callback told how the publish ended."""
        return events, _nothing

    def end(self, state: Any, actor: str, event: Event, outcome: str, seconds: float) -> None:
        """The message is settled with ``outcome`` after ``seconds``."""


class Observers(Observer):
    """Several observers in order (``end`` in reverse, like nested ``with`` blocks)."""

    def __init__(self, observers: Sequence[Observer]) -> None:
        self._observers = tuple(observers)

    def begin(self, actor: str, event: Event) -> Any:
        return [observer.begin(actor, event) for observer in self._observers]

    def sending(self, events: list[Event]) -> tuple[list[Event], Sent]:
        callbacks = []
        for observer in self._observers:
            events, sent = observer.sending(events)
            callbacks.append(sent)

        def all_sent(error: BaseException | None) -> None:
            for sent in reversed(callbacks):
                sent(error)

        return events, all_sent

    def end(self, state: Any, actor: str, event: Event, outcome: str, seconds: float) -> None:
        for observer, each in reversed(list(zip(self._observers, state, strict=True))):
            observer.end(each, actor, event, outcome, seconds)


def combine(*observers: Observer | None) -> Observer | None:
    """One observer for those given (None when none is)."""
    chosen = [observer for observer in observers if observer is not None]
    if not chosen:
        return None
    return chosen[0] if len(chosen) == 1 else Observers(chosen)
