"""The one place beehive reads the time, so that a test can put everything on a virtual clock.

Loop timers (``asyncio.sleep``, ``call_later``, ``asyncio.timeout``) follow the event loop's
own ``time()``; the rest reads :func:`utcnow` (timestamps, ``enqueue_time`` delays, expiries)
and :func:`monotonic` (durations, lease renewals, lock expiry). Both are the real clocks until
:class:`beehive.testing.VirtualClock` is installed; then both follow it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds on the event loop's clock (monotonic)."""

    def utcnow(self) -> datetime:
        """The wall-clock time, aware, in UTC."""


_current: Clock | None = None


def utcnow() -> datetime:
    """Now, in UTC: real unless a virtual clock is installed."""
    clock = _current
    return datetime.now(UTC) if clock is None else clock.utcnow()


def monotonic() -> float:
    """Seconds that never go back, on the event loop's time base."""
    clock = _current
    return time.monotonic() if clock is None else clock.time()


def current() -> Clock | None:
    """The installed virtual clock, if any."""
    return _current


def use(clock: Clock | None) -> None:
    """Install ``clock`` for every reading of the time in this process (None: the real one)."""
    global _current
    _current = clock
