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
- **publish failure**: ``push`` raises ``ConnectionError`` and sends nothing;
- **transient connection error**: ``ConnectionError`` from ``next`` (nothing leased), ``push``
  (nothing sent) or a settle (the message comes back, as when its lock expires);
- **delayed delivery**: a pushed event becomes visible up to ``max_delay`` seconds later;
- **reordering**: a pushed event without a session is held back and sent after the next push
  (or ``max_delay`` later), so consumers see it out of order. Session events keep their order.

On demand, ``fail_next(operation)`` makes the next calls of an operation fail, and
``crash_at(step)`` simulates the process dying at one step of the host's per-message
sequence: ``"after_lease"``, ``"after_publish"`` (its events are out) or ``"before_complete"``.
The broker takes the message back, as it does when a dead consumer's lock expires, and the
host's call at that step raises :class:`SimulatedCrash`; whatever it then does with the
message raises ``LeaseLostError``. (The fourth step, during ``process``, is the actor's:
make the actor raise.) ``injected`` counts every fault injected, by kind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from beehive.errors import LeaseLostError
from beehive.events import Event
from beehive.names import QueueName
from beehive.queues.base import QueueOperator, QueueSettings

logger = logging.getLogger("beehive.faults")

Operation = Literal["next", "push", "complete", "abandon", "dead_letter", "renew_lease"]
Step = Literal["after_lease", "after_publish", "before_complete"]
_OPERATIONS = ("next", "push", "complete", "abandon", "dead_letter", "renew_lease")
_STEPS = ("after_lease", "after_publish", "before_complete")


class SimulatedCrash(ConnectionError):
    """The consumer 'died' at this step: the broker has taken its message back."""


class _Held:
    """The wrapper's handle on a leased event: the inner event, and whether its lock is gone."""

    __slots__ = ("event", "gone", "source")

    def __init__(self, event: Event, source: str) -> None:
        self.event = event
        self.source = source
        self.gone = False


class _Planned:
    __slots__ = ("after", "error", "times", "where")

    def __init__(
        self,
        error: BaseException | None,
        times: int,
        after: bool,
        where: Callable[[Event], bool] | None,
    ) -> None:
        self.error, self.times, self.after, self.where = error, times, after, where


def _rate(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} is a probability between 0 and 1, got {value}")
    return value


class FaultyQueueOperator(QueueOperator):
    """Wraps ``inner`` (delegation, any backend) and injects faults; see the module docstring.

    Anything else the inner operator offers (``depth``, ``wait_idle``...) is passed through.
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
        self._leased: dict[str, _Held] = {}  # by event id: what after_publish crashes find
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
        """Make the next ``times`` calls of ``operation`` raise ``error`` (a ConnectionError).

        ``after``: the call reaches the broker first (a reply lost on the way back: a push that
        was sent, a lease that was taken and is given back). A failed settle always gives the
        message back to the broker, as a real one does when the lock runs out.
        """
        if operation not in _OPERATIONS:
            raise ValueError(
                f"operation must be one of {', '.join(_OPERATIONS)}, not {operation!r}"
            )
        error = error or ConnectionError(f"injected: {operation} failed")
        self._planned.setdefault(operation, []).append(_Planned(error, times, after, None))

    def crash_at(
        self, step: Step, *, times: int = 1, where: Callable[[Event], bool] | None = None
    ) -> None:
        """Simulate the consumer dying at ``step`` for the next ``times`` messages (``where``)."""
        if step not in _STEPS:
            raise ValueError(f"step must be one of {', '.join(_STEPS)}, not {step!r}")
        self._planned.setdefault(step, []).append(_Planned(None, times, False, where))

    def calm(self) -> None:
        """Stop injecting random faults (planned ones still happen): to drain at the end."""
        self.duplicate_rate = self.lost_lease_rate = self.lease_expiry_rate = 0.0
        self.publish_failure_rate = self.transient_error_rate = 0.0
        self.delay_rate = self.reorder_rate = 0.0

    def _plan(self, name: str, event: Event | None = None) -> _Planned | None:
        plans = self._planned.get(name)
        if not plans:
            return None
        for plan in plans:
            if plan.where is None or (event is not None and plan.where(event)):
                plan.times -= 1
                if plan.times <= 0:
                    plans.remove(plan)
                self.injected[f"{'crash' if plan.error is None else 'fail'}:{name}"] += 1
                return plan
        return None

    def _chance(self, rate: float, kind: str) -> bool:
        if rate and self._rng.random() < rate:
            self.injected[kind] += 1
            return True
        return False

    # -- topology: passed through ---------------------------------------------------------------

    async def setup_queue(
        self, name: str | QueueName, settings: QueueSettings | None = None
    ) -> None:
        await self.inner.setup_queue(name, settings)

    async def delete_queue(self, name: str | QueueName) -> None:
        await self.inner.delete_queue(name)

    async def queue_exists(self, name: str | QueueName) -> bool:
        return await self.inner.queue_exists(name)

    async def dead_letters(self, name: str | QueueName) -> list[Event]:
        return await self.inner.dead_letters(name)

    async def replay_dead_letters(
        self,
        name: str | QueueName,
        *,
        ids: Collection[str] | None = None,
        reason: str | None = None,
    ) -> int:
        return await self.inner.replay_dead_letters(name, ids=ids, reason=reason)

    async def purge_dead_letters(
        self,
        name: str | QueueName,
        *,
        ids: Collection[str] | None = None,
        reason: str | None = None,
    ) -> int:
        return await self.inner.purge_dead_letters(name, ids=ids, reason=reason)

    # -- sending --------------------------------------------------------------------------------

    async def push(self, event: Event) -> None:
        await self.push_batch([event])

    async def push_batch(self, events: Sequence[Event]) -> None:
        if not events:
            return
        plan = self._plan("push")
        if plan is not None and not plan.after:
            raise plan.error or ConnectionError("injected: push failed")
        if self._chance(self.publish_failure_rate, "publish_failure") or self._chance(
            self.transient_error_rate, "transient_error"
        ):
            raise ConnectionError("injected: connection reset while publishing")
        ready = [e for e in (self._disturb(event) for event in events) if e is not None]
        held, self._held_back = self._held_back, []
        if ready:
            await self.inner.push_batch(ready)
        if held:
            await self.inner.push_batch(held)  # what was held back goes after: reordered
        if plan is not None:
            raise plan.error or ConnectionError("injected: push failed")
        incoming = self._leased.get(events[0].causation_id or "")
        if (
            incoming is not None
            and not incoming.gone
            and self._plan("after_publish", incoming.event) is not None
        ):
            await self._take_back(incoming)
            raise SimulatedCrash(f"injected: crashed after publishing for {incoming.event.id}")

    def _disturb(self, event: Event) -> Event | None:
        """The event to send now (maybe delayed), or None when it is held back to reorder."""
        if event.session_id is None and self._chance(self.reorder_rate, "reorder"):
            self._held_back.append(event)
            if self._flusher is None:
                self._flusher = asyncio.get_running_loop().call_later(self.max_delay, self._flush)
            return None
        if self._chance(self.delay_rate, "delay"):
            due = datetime.now(UTC) + timedelta(seconds=self._rng.uniform(0, self.max_delay))
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

    async def next(
        self, name: str | QueueName, *, max_count: int = 1, wait: float | timedelta = 0
    ) -> list[Event]:
        plan = self._plan("next")
        if plan is not None and not plan.after:
            raise plan.error or ConnectionError("injected: next failed")
        if self._chance(self.transient_error_rate, "transient_error"):
            raise ConnectionError("injected: connection reset while leasing")
        source = str(name)
        held = [
            _Held(e, source) for e in await self.inner.next(name, max_count=max_count, wait=wait)
        ]
        crashed = plan is not None or any(
            self._plan("after_lease", h.event) is not None for h in held
        )
        if crashed:
            for each in held:
                await self._take_back(each)
            if plan is not None:
                raise plan.error or ConnectionError("injected: next failed")
            raise SimulatedCrash(f"injected: crashed after leasing from {source}")
        leased = []
        for each in held:
            if self._chance(self.lease_expiry_rate, "lease_expiry"):
                await self._take_back(each)
            self._leased[each.event.id] = each
            leased.append(each.event.evolve({}, lease=each))
        return leased

    # -- settling -------------------------------------------------------------------------------

    def _held(self, event: Event) -> _Held:
        held = event.lease
        if not isinstance(held, _Held):
            raise LeaseLostError(f"event {event.event_type} {event.id} was not leased here")
        if held.gone:
            self._forget(held)
            raise LeaseLostError(
                f"the lease on event {event.event_type} {event.id} in {held.source} expired"
            )
        return held

    def _forget(self, held: _Held) -> None:
        if self._leased.get(held.event.id) is held:
            del self._leased[held.event.id]

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
        elif operation == "complete" and self._plan("before_complete", held.event) is not None:
            error = SimulatedCrash(f"injected: crashed before completing {held.event.id}")
        elif self._chance(self.transient_error_rate, "transient_error"):
            error = ConnectionError(f"injected: connection reset during {operation}")
        elif self._chance(self.lost_lease_rate, "lost_lease"):
            error = LeaseLostError(f"injected: the lease on {held.event.id} was lost")
        if error is not None:
            self._forget(held)
            await self._take_back(held)
            raise error

    async def complete(self, event: Event) -> None:
        held = self._held(event)
        await self._settle_faults(held, "complete")
        self._forget(held)
        key = (held.source, event.id)
        if key not in self._duplicated and self._chance(self.duplicate_rate, "duplicate"):
            self._duplicated.add(key)
            await self._take_back(held)  # the acknowledgement is lost: delivered again
            return
        self._duplicated.discard(key)
        await self.inner.complete(held.event)

    async def abandon(self, event: Event, delay: float | timedelta | None = None) -> None:
        held = self._held(event)
        await self._settle_faults(held, "abandon")
        self._forget(held)
        await self.inner.abandon(held.event, delay)

    async def dead_letter(self, event: Event, reason: str, description: str | None = None) -> None:
        held = self._held(event)
        await self._settle_faults(held, "dead_letter")
        self._forget(held)
        await self.inner.dead_letter(held.event, reason, description)

    async def renew_lease(self, event: Event) -> None:
        held = self._held(event)
        plan = self._plan("renew_lease")
        if plan is not None:
            raise plan.error or ConnectionError("injected: renew_lease failed")
        await self.inner.renew_lease(held.event)

    # -- the rest -------------------------------------------------------------------------------

    async def flush(self) -> None:
        """Send what is held back for reordering now (``wait_idle`` and ``close`` do this)."""
        if self._flusher is not None:
            self._flusher.cancel()
        self._flush()
        while self._flushes:
            await asyncio.gather(*self._flushes)

    async def wait_idle(self, timeout: float | timedelta = 10.0) -> None:
        """The inner operator's ``wait_idle`` (in memory), counting what is held back too."""
        wait = timeout.total_seconds() if isinstance(timeout, timedelta) else timeout
        async with asyncio.timeout(wait):
            while True:
                await self.flush()
                await self.inner.wait_idle()  # type: ignore[attr-defined]
                if not self._held_back and not self._flushes:
                    return

    async def close(self) -> None:
        await self.flush()
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet: no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"FaultyQueueOperator({self.inner!r})"
