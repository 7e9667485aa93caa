"""The one place beehive makes event ids and store versions (etags), cheaply.

``str(uuid4())`` costs about 2 µs (a system call for 16 random bytes, a ``UUID`` object, its
formatting): a third of building an ``Event``, paid on every hop. These ids are just as unique
for a fraction of that: 74 random bits drawn once per process (again in a forked child, and
after 2**48 ids), then a 48-bit counter. They are laid out as RFC 9562 UUIDs of version 8 (the
version for custom layouts), so they look like and fit wherever a GUID does (36 characters,
or 32 hex digits for an etag). Two processes share a prefix with odds of about n²/2**75 for n
processes; ids of one process never repeat. They are not secrets: do not use them where an
unguessable value is needed (lock tokens stay random).

:class:`beehive.testing.Simulation` installs a factory of event ids here for the length of one
run (:func:`use`), so that the ids of its events depend on the seed and on what caused them,
and a replayed run has the same ids.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable

__all__ = ["current", "new_id", "new_tag", "use"]

_COUNTER_BITS = 48
_LIMIT = 1 << _COUNTER_BITS
_lock = threading.Lock()
_factory: Callable[[], str] | None = None


class _State:
    """One prefix and its counter, read as a whole: a reseed swaps both at once."""

    __slots__ = ("counter", "hex_prefix", "prefix")

    def __init__(self) -> None:
        bits = int.from_bytes(os.urandom(10), "big") >> 6  # 74 random bits
        # 128-bit layout: 48 random | version 8 (4 bits) | 12 random | variant 0b10 |
        # 14 random | the 48-bit counter.
        high = (bits >> 26) << 16 | 0x8 << 12 | (bits >> 14) & 0xFFF
        low = 0b10 << 14 | bits & 0x3FFF
        text = f"{high:016x}{low:04x}"
        self.hex_prefix = text
        self.prefix = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-"
        self.counter = itertools.count()


_state = _State()


def _seed() -> None:
    global _state
    _state = _State()


def _exhausted(state: _State) -> _State:
    """2**48 ids later: a new prefix (once, whichever thread gets here first)."""
    with _lock:
        if _state is state:
            _seed()
        return _state


def new_id() -> str:
    """A new event id in the canonical UUID form, unique across processes (unless a
    simulation installed its own factory)."""
    factory = _factory
    if factory is not None:
        return factory()
    state = _state
    number = next(state.counter)
    while number >= _LIMIT:
        state = _exhausted(state)
        number = next(state.counter)
    return f"{state.prefix}{number:012x}"


def new_tag() -> str:
    """A new id as 32 hex digits (a store's etag)."""
    state = _state
    number = next(state.counter)
    while number >= _LIMIT:
        state = _exhausted(state)
        number = next(state.counter)
    return f"{state.hex_prefix}{number:012x}"


def current() -> Callable[[], str] | None:
    """The installed factory of event ids, if any."""
    return _factory


def use(factory: Callable[[], str] | None) -> None:
    """Make every new event id with ``factory`` (None: beehive's own again)."""
    global _factory
    _factory = factory


if hasattr(os, "register_at_fork"):
    # A forked child must not continue its parent's sequence under the parent's prefix.
    os.register_at_fork(after_in_child=_seed)
