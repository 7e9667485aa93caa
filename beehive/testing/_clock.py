"""Simulated time for an asyncio event loop: timers fire in order, without waiting.

Installed on the running loop, the clock replaces the loop's ``time()`` and wraps its I/O
selector: whenever the loop has no callback ready and would sleep until its next timer, the
clock jumps to that timer instead (after ``autojump_threshold`` real seconds without I/O, 0 by
default). Processing takes no simulated time; only waiting does. beehive's own readings of the
time (timestamps, ``enqueue_time`` delays, lock and inbox expiries) follow the clock too.

Any event loop built on ``asyncio.BaseEventLoop`` will do (the default on every platform, and
what pytest-asyncio and ``asyncio.run`` create); uvloop is refused.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from beehive import _clock
from beehive.errors import BeeHiveError
from beehive.queues.base import seconds as to_seconds

_DUE = 1e-6
"""A timer this close (seconds) counts as due: simulated times are float sums."""


class VirtualClockError(BeeHiveError, RuntimeError):
    """The virtual clock cannot be installed (or used) on this loop, in this state."""


class _JumpingSelector:
    """The loop's selector, asked to sleep only when real I/O may come; else time jumps."""

    def __init__(self, inner: Any, clock: VirtualClock) -> None:
        self._inner = inner
        self._clock = clock

    def select(self, timeout: float | None = None) -> Any:
        if timeout == 0:
            return self._inner.select(0)
        clock = self._clock
        if timeout is not None and timeout < _DUE:
            clock._now += timeout  # due already, but for the rounding of float sums
            return self._inner.select(0)
        if clock._settling is not None and not clock._settling.done():
            clock._settling.set_result(None)  # nothing is ready: the moment has settled
            return self._inner.select(0)
        if timeout is None:
            return self._inner.select(None)  # no timer at all: only I/O can wake the loop
        events = self._inner.select(0 if clock._hurry else clock.autojump_threshold)
        if not events:
            clock._now += timeout
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class VirtualClock:
    """Simulated time for the running event loop, and for beehive's clocks.

    ``start`` is the wall-clock time at installation (the real time if not given); afterwards
    :meth:`utcnow` is ``start`` plus the simulated time elapsed. ``autojump_threshold`` is how
    long (real seconds) the loop must wait for I/O before time jumps to the next timer: keep 0
    for in-memory actors; raise it when actors wait on real servers, so their replies arrive
    before timeouts fire. :meth:`advance` never waits for it.

    Use it as ``async with VirtualClock() as clock:`` or :meth:`install` / :meth:`uninstall`.
    One virtual clock at a time per process.
    """

    def __init__(self, start: datetime | None = None, *, autojump_threshold: float = 0.0) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware, for example datetime(..., tzinfo=UTC)")
        if autojump_threshold < 0:
            raise ValueError(f"autojump_threshold cannot be negative, got {autojump_threshold}")
        self.autojump_threshold = autojump_threshold
        self._start = start
        self._wall = start or datetime.now(UTC)
        self._origin = self._now = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._selector: Any = None
        self._hurry = 0
        self._settling: asyncio.Future[None] | None = None

    # -- readings -------------------------------------------------------------------------------

    def time(self) -> float:
        """The loop's time, in seconds (monotonic; it starts where the real loop time was)."""
        return self._now

    def utcnow(self) -> datetime:
        """The simulated wall-clock time."""
        return self._wall + timedelta(seconds=self._now - self._origin)

    @property
    def elapsed(self) -> timedelta:
        """Simulated time since installation."""
        return timedelta(seconds=self._now - self._origin)

    @property
    def installed(self) -> bool:
        return self._loop is not None

    # -- moving time ----------------------------------------------------------------------------

    async def advance(
        self,
        delta: float | timedelta = 0.0,
        *,
        seconds: float = 0.0,
        minutes: float = 0.0,
        hours: float = 0.0,
        days: float = 0.0,
    ) -> None:
        """Let simulated time pass: every timer due meanwhile fires in order, and what it starts
        runs, until the moment ``delta`` (plus the keyword durations) later has settled."""
        total = to_seconds(delta) + seconds + 60 * minutes + 3600 * hours + 86400 * days
        if total < 0:
            raise ValueError(f"time cannot go back: advance by {total:g} s")
        loop = self._running_loop()
        self._hurry += 1
        try:
            reached = loop.create_future()
            timer = loop.call_at(self._now + total, _resolve, reached)
            try:
                await reached
            finally:
                timer.cancel()
            await self.settle()
        finally:
            self._hurry -= 1

    async def settle(self) -> None:
        """Return once nothing is ready to run at this simulated moment (time does not move)."""
        self._settling = self._running_loop().create_future()
        try:
            await self._settling
        finally:
            self._settling = None

    # -- installation ---------------------------------------------------------------------------

    def install(self) -> None:
        """Put the running loop and beehive's clocks on simulated time, starting now."""
        loop = asyncio.get_running_loop()
        if self._loop is not None:
            raise VirtualClockError("this virtual clock is installed already")
        if _clock.current() is not None:
            raise VirtualClockError("another virtual clock is installed in this process")
        if not isinstance(loop, asyncio.BaseEventLoop) or not hasattr(loop, "_selector"):
            raise VirtualClockError(
                f"the virtual clock needs asyncio's own event loop, not {type(loop).__module__}."
                f"{type(loop).__qualname__} (uvloop and other loops keep their own time)"
            )
        self._origin = self._now = loop.time()
        self._wall = self._start or datetime.now(UTC)
        self._selector = loop._selector
        loop._selector = _JumpingSelector(self._selector, self)
        loop.time = self.time  # type: ignore[method-assign]
        self._loop = loop
        _clock.use(self)

    def uninstall(self) -> None:
        """Give the loop its real time back; time keeps going on from the simulated moment."""
        loop = self._loop
        if loop is None:
            return
        loop._selector = self._selector  # type: ignore[attr-defined]
        # Timers already armed hold simulated times: keep the loop's time monotonic by
        # continuing from where the simulation got to, at the real pace.
        offset = self._now - time.monotonic()
        if offset > 0:
            loop.time = lambda: time.monotonic() + offset  # type: ignore[method-assign]
        else:
            del loop.time
        self._loop = self._selector = None
        _clock.use(None)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            raise VirtualClockError(
                "the virtual clock is not installed on this event loop: use "
                "'async with VirtualClock()' or clock.install() first"
            )
        return loop

    async def __aenter__(self) -> Self:
        self.install()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        return f"VirtualClock({self.utcnow().isoformat()}, elapsed={self.elapsed})"


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
