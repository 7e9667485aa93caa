"""Where a run's messages and state live: one function per backend builds both.

A backend is a queue operator, the stores, and a way to wait until every message is handled.
Adding one (Azure: Service Bus and Table Storage) is adding a function to ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from beehive.queues.base import QueueOperator
from beehive.queues.memory import InMemoryQueueOperator
from samples.prismo.scenario import Scenario
from samples.prismo.stores import Stores


class BackendUnavailable(Exception):
    """The backend asked for cannot run here (yet); the message says why."""


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    operator: QueueOperator
    stores: Stores
    wait_idle: Callable[[float | None], Awaitable[None]]
    """Returns once no message is ready, scheduled or in flight; TimeoutError after the wait."""


def memory(scenario: Scenario) -> Backend:
    """Everything in this process: the embedded broker and the in-memory stores."""
    operator = InMemoryQueueOperator()
    return Backend("memory", operator, Stores.in_memory(), operator.wait_idle)


def azure(scenario: Scenario) -> Backend:
    """Service Bus and Azure Storage."""
    raise BackendUnavailable(
        "the azure backend is not available yet: it needs the Azure backend (issue 5)"
    )


BACKENDS: dict[str, Callable[[Scenario], Backend]] = {"memory": memory, "azure": azure}
