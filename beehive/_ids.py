"""The one place beehive makes event ids, so that a simulation can make them reproducible.

Events get a random UUID (4) as their id. :class:`beehive.testing.Simulation` installs a
factory here for the length of one run, so that the ids of its events depend on the seed and on
what caused them, and a replayed run has the same ids.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

_factory: Callable[[], str] | None = None


def new_id() -> str:
    """A new event id: a random UUID, unless a simulation installed its own factory."""
    factory = _factory
    return str(uuid4()) if factory is None else factory()


def current() -> Callable[[], str] | None:
    """The installed factory, if any."""
    return _factory


def use(factory: Callable[[], str] | None) -> None:
    """Make every new event id with ``factory`` (None: random UUIDs again)."""
    global _factory
    _factory = factory
