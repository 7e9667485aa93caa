"""Fault injection: a queue operator that misbehaves the way real brokers do, on purpose.

``FaultyQueueOperator(inner, seed=7, duplicate_rate=0.1, ...)`` wraps any operator and, at
the given rates (each a probability per call, drawn from one seeded generator), or on demand:

- **duplicate delivery**: a ``complete`` whose acknowledgement is lost: the broker keeps the
  message and delivers it again later, with one more delivery (each message at most once);
- **lost lease**: settling raises :class:`~beehive.errors.LeaseLostError` and the broker
  delivers the message again;
- **lease expiry mid-processing**: the message is leased, and its lock runs out at once: it is
  visible again to other consumers while the first still works on it, whose settling then
  raises ``LeaseLostError``;
- **publish failure**: ``push`` raises ``BrokerUnavailableError`` and sends nothing;
- **transient connection error**: ``BrokerUnavailableError`` from ``next`` (nothing leased),
  ``push`` (nothing sent) or a settle (the message comes back, as when its lock expires);
- **delayed delivery**: a pushed event becomes visible up to ``max_delay`` seconds later;
- **reordering**: a pushed event without a session is held back and sent after the next push
  (or ``max_delay`` later), so consumers see it out of order. Session events keep their order.

On demand, ``fail_next(operation)`` makes the next calls of an operation fail.
``injected`` counts every fault injected, by kind. A host that dies at one step of a
message's handling (after the lease, after publishing, before completing) is simulated in the
host's pipeline instead: :class:`beehive.middleware.CrashInjection`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

from beehive._clock import utcnow
from beehive.errors import BrokerUnavailableError, LeaseLostError
from beehive.events import Event
from beehive.names import QueueName
from beehive.queues.base import (
    DeadLetterInfo,
    IdleAware,
    QueueDepth,
    QueueOperator,
    QueueSettings,
    Replay,
    Selector,
    seconds,
)

logger = logging.getLogger("beehive.faults")

Operation = Literal["next", "push", "complete", "abandon", "dead_letter", "renew_lease"]
_OPERATIONS = ("next", "push", "complete", "abandon", "dead_letter", "renew_lease")


class SimulatedCrash(ConnectionError):
    """Raised by tests where a process 'dies' (in an actor, a store): nothing after it runs."""


class SimulatedStoreError(ConnectionError):
    """A store call that failed for a moment (a timeout, a dropped connection), injected by a
    simulation: nothing was read or written, and trying again may work."""


def _unavailable(what: str) -> BrokerUnavailableError:
    return BrokerUnavailableError(f"injected: {what}")


class _Held:
    """The wrapper's handle on a leased event: the inner event, and whether its lock is gone."""

    __slots__ = ("event", "gone", "source")

    def __init__(self, event: Event, source: str) -> None:
        self.event = event
        self.source = source
        self.gone = False


class _Planned:
    __slots__ = ("after", "error", "times")

    def __init__(self, error: BaseException | None, times: int, after: bool) -> None:
        self.error, self.times, self.after = error, times, after


def _rate(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} is a probability between 0 and 1, got {value}")
    return value


class FaultyQueueOperator(QueueOperator, IdleAware):
    """Wraps ``inner`` (delegation, any backend) and injects faults; see the module docstring.

    Topology, dead letters and ``depth`` pass through; it is idle when ``inner`` is (an
    ``IdleAware`` one) and nothing is held back.
    """

    def __init__(
        self,
        inner: QueueOperator,
        *,
        seed: int | None = None,
        duplicate_rate: float = 0.0,
        lost_lease_rate: float = 0.0,
        lease_expiry_rate: float = 0.0,
        publish_failure_rate: float = 0.0,
        transient_error_rate: float = 0.0,
        delay_rate: float = 0.0,
        reorder_rate: float = 0.0,
        max_delay: float | timedelta = 0.05,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.duplicate_rate = _rate("duplicate_rate", duplicate_rate)
        self.lost_lease_rate = _rate("lost_lease_rate", lost_lease_rate)
        self.lease_expiry_rate = _rate("lease_expiry_rate", lease_expiry_rate)
        self.publish_failure_rate = _rate("publish_failure_rate", publish_failure_rate)
        self.transient_error_rate = _rate("transient_error_rate", transient_error_rate)
        self.delay_rate = _rate("delay_rate", delay_rate)
        self.reorder_rate = _rate("reorder_rate", reorder_rate)
        self.max_delay = (
            max_delay.total_seconds() if isinstance(max_delay, timedelta) else max_delay
        )
        self.injected: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._planned: dict[str, list[_Planned]] = {}
        self._duplicated: set[tuple[str, str]] = set()
        self._held_back: list[Event] = []
        self._flusher: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    # -- on demand ------------------------------------------------------------------------------

    def fail_next(
        self,
        operation: Operation,
        error: BaseException | None = None,
        *,
        times: int = 1,
        after: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``operation`` raise ``error`` (by default a
        ``BrokerUnavailableError``, which is also a ``ConnectionError``).

        ``after``: the call reaches the broker first (a reply lost on the way back: a push that
        was sent, a lease that was taken and is given back). A failed settle always gives the
        message back to the broker, as a real one does when the lock runs out.
        """
        if operation not in _OPERATIONS:
            raise ValueError(
                f"operation must be one of {', '.join(_OPERATIONS)}, not {operation!r}"
            )
        error = error or _unavailable(f"{operation} failed")
        self._planned.setdefault(operation, []).append(_Planned(error, times, after))

    def calm(self) -> None:
        """Stop injecting random faults (planned ones still happen): to drain at the end."""
        self.duplicate_rate = self.lost_lease_rate = self.lease_expiry_rate = 0.0
        self.publish_failure_rate = self.transient_error_rate = 0.0
        self.delay_rate = self.reorder_rate = 0.0

    def _plan(self, operation: Operation) -> _Planned | None:
        plans = self._planned.get(operation)
        if not plans:
            return None
        plan = plans[0]
        plan.times -= 1
        if plan.times <= 0:
            plans.pop(0)
        self.injected[f"fail:{operation}"] += 1
        return plan

    def _chance(self, rate: float, kind: str, event: Event | None = None, source: str = "") -> bool:
        if self._decide(rate, kind, event, source):
            self.injected[kind] += 1
            return True
        return False

    def _decide(self, rate: float, kind: str, event: Event | None, source: str) -> bool:
        """Whether to inject a fault of ``kind`` now: a draw from the seeded generator at
        ``rate``. ``event`` is the event it would hit (when there is one) and ``source`` the
        subscription or queue it was leased from, for a subclass that decides otherwise (a
        simulation decides by event, so that one fault can be taken out of a run)."""
        return bool(rate) and self._rng.random() < rate

    # -- passed through -------------------------------------------------------------------------

    async def _setup(self, name: QueueName, settings: QueueSettings) -> None:
        await self.inner.setup_queue(name, settings)

    async def _delete(self, name: QueueName) -> None:
        await self.inner.delete_queue(name)

    async def _exists(self, name: QueueName) -> bool:
        return await self.inner.queue_exists(name)

    async def _peek_dead_letters(self, name: QueueName) -> list[Event]:
        return await self.inner.dead_letters(name)

    async def _prepare_replay(self, name: QueueName) -> None:
        await self.inner._prepare_replay(name)

    async def _sweep_dead_letters(
        self, name: QueueName, selector: Selector, replay: Replay | None
    ) -> int:
        return await self.inner._sweep_dead_letters(name, selector, replay)

    async def _requeue(self, name: QueueName, event: Event) -> None:
        await self.inner._requeue(name, event)

    async def _depth(self, name: QueueName) -> QueueDepth:
        return await self.inner.depth(name)

    # -- sending --------------------------------------------------------------------------------

    async def _send(self, events: Sequence[Event]) -> None:
        plan = self._plan("push")
        if plan is not None and not plan.after:
            raise plan.error or _unavailable("push failed")
        first = events[0] if events else None
        if self._chance(self.publish_failure_rate, "publish_failure", first) or self._chance(
            self.transient_error_rate, "transient_error", first
        ):
            raise _unavailable("connection reset while publishing")
        ready = [e for e in (self._disturb(event) for event in events) if e is not None]
        held, self._held_back = self._held_back, []
        if ready:
            await self.inner.push_batch(ready)
        if held:
            await self.inner.push_batch(held)  # what was held back goes after: reordered
        if plan is not None:
            raise plan.error or _unavailable("push failed")

    def _disturb(self, event: Event) -> Event | None:
        """The event to send now (maybe delayed), or None when it is held back to reorder."""
        if event.session_id is None and self._chance(self.reorder_rate, "reorder", event):
            self._held_back.append(event)
            if self._flusher is None:
                self._flusher = asyncio.get_running_loop().call_later(self.max_delay, self._flush)
            return None
        if self._chance(self.delay_rate, "delay", event):
            due = utcnow() + timedelta(seconds=self._rng.uniform(0, self.max_delay))
            if event.enqueue_time is None or event.enqueue_time < due:
                return event.evolve({"enqueue_time": due})
        return event

    def _flush(self) -> None:
        self._flusher = None
        if self._held_back:
            held, self._held_back = self._held_back, []
            task = asyncio.get_running_loop().create_task(self._send_late(held))
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _send_late(self, events: list[Event]) -> None:
        try:
            await self.inner.push_batch(events)
        except Exception:
            logger.exception("faults: sending %d held-back events failed", len(events))

    # -- receiving ------------------------------------------------------------------------------

    async def _receive(
        self, name: QueueName, max_count: int, wait: float
    ) -> list[tuple[Event, _Held]]:
        """The inner operator's events themselves, each with this wrapper's handle."""
        plan = self._plan("next")
        if plan is not None and not plan.after:
            raise plan.error or _unavailable("next failed")
        if self._chance(self.transient_error_rate, "transient_error"):
            raise _unavailable("connection reset while leasing")
        source = str(name)
        held = [
            _Held(e, source) for e in await self.inner.next(name, max_count=max_count, wait=wait)
        ]
        if plan is not None:
            for each in held:
                await self._take_back(each)
            raise plan.error or _unavailable("next failed")
        for each in held:
            if self._chance(self.lease_expiry_rate, "lease_expiry", each.event, source):
                await self._take_back(each)
        return [(each.event, each) for each in held]

    # -- settling -------------------------------------------------------------------------------

    def _lease_lost(self, handle: _Held) -> bool:
        return handle.gone

    async def _take_back(self, held: _Held) -> None:
        """The broker takes the message back (its lock ran out): delivered again, counted."""
        held.gone = True
        with contextlib.suppress(LeaseLostError):  # it had already come back
            await self.inner.abandon(held.event)

    async def _settle_faults(self, held: _Held, operation: Operation) -> None:
        """Raise the fault due for this settle, if any, having given the message back."""
        plan = self._plan(operation)
        error: BaseException | None = None
        if plan is not None:
            error = plan.error
        elif self._chance(self.transient_error_rate, "transient_error", held.event, held.source):
            error = _unavailable(f"connection reset during {operation}")
        elif self._chance(self.lost_lease_rate, "lost_lease", held.event, held.source):
            error = LeaseLostError(f"injected: the lease on {held.event.id} was lost")
        if error is not None:
            await self._take_back(held)
            raise error

    async def _complete(self, handle: _Held) -> None:
        await self._settle_faults(handle, "complete")
        key = (handle.source, handle.event.id)
        if key not in self._duplicated and self._chance(
            self.duplicate_rate, "duplicate", handle.event, handle.source
        ):
            self._duplicated.add(key)
            await self._take_back(handle)  # the acknowledgement is lost: delivered again
            return
        self._duplicated.discard(key)
        await self.inner.complete(handle.event)

    async def _abandon(self, handle: _Held, delay: float) -> None:
        await self._settle_faults(handle, "abandon")
        await self.inner.abandon(handle.event, delay)

    async def _dead_letter(self, handle: _Held, info: DeadLetterInfo) -> None:
        await self._settle_faults(handle, "dead_letter")
        await self.inner.dead_letter(
            handle.event,
            info.reason,
            info.description,
            actor=info.actor,
            error_type=info.error_type,
        )

    async def _renew(self, handle: _Held) -> None:
        plan = self._plan("renew_lease")
        if plan is not None:
            raise plan.error or _unavailable("renew_lease failed")
        await self.inner.renew_lease(handle.event)

    # -- the rest -------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Send what is held back for reordering now (``wait_idle`` and ``close`` do this)."""
        if self._flusher is not None:
            self._flusher.cancel()
        self._flush()
        while self._flushes:
            await asyncio.gather(*self._flushes)

    async def wait_idle(self, timeout: float | timedelta | None = 10.0) -> None:
        """The inner operator's ``wait_idle``, counting what is held back too.

        Raises TypeError when the inner operator is not ``IdleAware`` (cannot tell).
        """
        inner = self._idle_aware()
        async with asyncio.timeout(None if timeout is None else seconds(timeout)):
            while True:
                await self.flush()
                await inner.wait_idle()
                if not self._held_back and not self._flushes:
                    return

    @property
    def is_idle(self) -> bool:
        return self._idle_aware().is_idle and not self._held_back and not self._flushes

    def _idle_aware(self) -> IdleAware:
        if not isinstance(self.inner, IdleAware):
            raise TypeError(
                f"{self.inner!r} cannot tell when it is idle: wrap an IdleAware operator "
                "(such as InMemoryQueueOperator) to wait for idle"
            )
        return self.inner

    async def _close(self) -> None:
        await self.flush()
        await self.inner.close()

    def __repr__(self) -> str:
        return f"FaultyQueueOperator({self.inner!r})"
