"""What waits to be leased from one queue, and the consumers waiting for it.

Shared by the brokers that hand out messages themselves (in memory, and RabbitMQ's buffer).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lineup(Generic[T]):
    """Items in delivery order; with sessions, at most one item per session is out at a time.

    ``take`` hands out the head of the queue, or of a free session, which it then holds until
    ``release``. ``put`` and ``release`` wake one waiting consumer (a future in ``waiters``).
    """

    def __init__(self, *, sessions: bool, session_of: Callable[[T], str]) -> None:
        self._sessions = sessions
        self._session_of = session_of
        self._ready: deque[T] = deque()
        self._lines: dict[str, deque[T]] = {}
        self._free: deque[str] = deque()
        self._busy: set[str] = set()
        self.waiters: deque[asyncio.Future[bool]] = deque()

    def put(self, item: T, *, front: bool = False) -> None:
        if not self._sessions and not front:  # the usual case, once per message
            self._ready.append(item)
            if self.waiters:
                self.wake()
            return
        if not self._sessions:
            line = self._ready
        else:
            session = self._session_of(item)
            line = self._lines.setdefault(session, deque())
        (line.appendleft if front else line.append)(item)
        if self._sessions:
            self._offer(session)
        self.wake()

    def take(self) -> T | None:
        if not self._sessions:
            return self._ready.popleft() if self._ready else None
        if not self._free:
            return None
        session = self._free.popleft()
        line = self._lines[session]
        item = line.popleft()
        if not line:
            del self._lines[session]
        self._busy.add(session)
        return item

    def release(self, item: T) -> None:
        """Let the next item of ``item``'s session go out (nothing to do without sessions)."""
        if self._sessions:
            session = self._session_of(item)
            self._busy.discard(session)
            self._offer(session)
            self.wake()

    def _offer(self, session: str) -> None:
        if session in self._lines and session not in self._busy and session not in self._free:
            self._free.append(session)

    def wake(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return

    def wake_all(self) -> None:
        while self.waiters:
            self.wake()

    async def wait(self, deadline: float) -> bool:
        """Wait until woken or ``deadline`` (loop time); False when the time ran out.

        The deadline is a plain timer that resolves the waiter (not ``asyncio.timeout_at``,
        which builds a context manager and cancels the task to time out): a consumer waits
        once per empty poll, so this is on the path of every message of a quiet queue.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self.waiters.append(waiter)
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            woken = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.result():
                self.wake()  # pass the wake-up on: this consumer will not take the item
            else:
                self._forget(waiter)
            raise
        finally:
            timer.cancel()
        if not woken:
            self._forget(waiter)  # a woken waiter was taken off the line already
        return woken

    def _forget(self, waiter: asyncio.Future[bool]) -> None:
        with contextlib.suppress(ValueError):  # taken off by a wake_all meanwhile
            self.waiters.remove(waiter)

    def drain(self) -> list[T]:
        """Take every waiting item out, in delivery order per session (holds stay)."""
        items = [*self._ready, *(item for line in self._lines.values() for item in line)]
        self._ready.clear()
        self._lines.clear()
        self._free.clear()
        return items

    def clear(self) -> None:
        """Forget every item and session hold (waiters stay)."""
        self._ready.clear()
        self._lines.clear()
        self._free.clear()
        self._busy.clear()

    def __len__(self) -> int:
        return len(self._ready) + sum(len(line) for line in self._lines.values())


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)
