"""One actor descriptor at work: lease, process, publish, settle, for each message."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from beehive._observe import Observer
from beehive.actors import ActorDescriptor
from beehive.backoff import Backoff
from beehive.errors import BadEventBody, DeadLetter, LeaseLostError, Retry
from beehive.events import Event
from beehive.inbox import Inbox
from beehive.queues.base import QueueOperator
from beehive.stats import Counters

logger = logging.getLogger("beehive.host")

FailureHook = Callable[[ActorDescriptor, Event, BaseException], None]


def _stamp_all(incoming: Event, results: Any) -> list[Event]:
    """The events an actor returned, stamped with correlation and causation."""
    if not results:
        return []
    if not isinstance(results, list | tuple):
        raise TypeError(f"process must return a list of Event, not {type(results).__name__}")
    return [_stamp(incoming, event) for event in results]


def _stamp(incoming: Event, outgoing: Any) -> Event:
    if not isinstance(outgoing, Event):
        raise TypeError(f"process must return a list of Event, and it held {outgoing!r}")
    return outgoing.evolve(
        {
            "correlation_id": outgoing.correlation_id or incoming.correlation_id or incoming.id,
            "causation_id": incoming.id,
        }
    )


class _Flight:
    """A message being processed: when it was leased and when its lease was last renewed."""

    __slots__ = ("event", "renewed", "started")

    def __init__(self, event: Event, now: float) -> None:
        self.event = event
        self.started = self.renewed = now


class Consumer:
    """Runs ``parallelism`` workers for one descriptor, each handling one message at a time."""

    def __init__(
        self,
        descriptor: ActorDescriptor,
        operator: QueueOperator,
        factory: Callable[[], Any],
        *,
        backoff: Backoff,
        poll_wait: float,
        on_failure: FailureHook | None,
        inbox: Inbox | None = None,
        observer: Observer | None = None,
    ) -> None:
        self.descriptor = descriptor
        self.counters = Counters()
        self._operator = operator
        self._factory = factory
        self._closes = callable(getattr(descriptor.actor_type, "aclose", None))
        self._backoff = backoff
        self._poll_wait = poll_wait
        self._on_failure = on_failure
        self._inbox = inbox if descriptor.idempotent else None
        self._running: dict[str, asyncio.Event] = {}  # event ids in the inbox path
        self._workers: list[asyncio.Task[None]] = []
        self._leasing: set[asyncio.Task[None]] = set()
        self._in_flight: dict[int, _Flight] = {}
        self._renewer: asyncio.Task[None] | None = None
        self._stopping = False
        # Decided once: without an observer the plain methods run, with not even an ``if``.
        self._observer = observer
        self._handle: Callable[[Event], Awaitable[str]] = (
            self._handle_plain if observer is None else self._handle_observed
        )
        self._push: Callable[[list[Event]], Awaitable[None]] = (
            self._push_plain if observer is None else self._push_observed
        )

    def start(self) -> None:
        name = self.descriptor.name
        self._workers = [
            asyncio.create_task(self._work(), name=f"{name}#{i}")
            for i in range(self.descriptor.parallelism)
        ]
        self._renewer = asyncio.create_task(self._renew_leases(), name=f"{name}#renew")

    async def stop(self, grace: float) -> None:
        """Stop leasing; let in-flight messages finish within ``grace``, then abandon the rest."""
        self._stopping = True
        for task in self._leasing:
            task.cancel()
        if not self._workers:
            return
        _, late = await asyncio.wait(self._workers, timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []
        if self._renewer is not None:
            self._renewer.cancel()
            await asyncio.gather(self._renewer, return_exceptions=True)

    async def _work(self) -> None:
        task = cast("asyncio.Task[None]", asyncio.current_task())
        queue = self.descriptor.queue
        failures = 0
        while not self._stopping:
            self._leasing.add(task)
            try:
                events = await self._operator.next(queue, max_count=1, wait=self._poll_wait)
                failures = 0
            except asyncio.CancelledError:
                if self._stopping:
                    return
                raise
            except Exception:
                # The broker is unreachable or failing: keep trying, without hammering it.
                failures += 1
                logger.exception("%s: leasing from %s failed", self.descriptor.name, queue)
                await asyncio.sleep(self._backoff.delay(failures))
                continue
            finally:
                self._leasing.discard(task)
            for event in events:
                await self._handle(event)

    async def _handle_observed(self, event: Event) -> str:
        observer = cast("Observer", self._observer)
        name = self.descriptor.name
        state = observer.begin(name, event)
        started = time.monotonic()
        outcome = "abandoned"  # unless handling returns: a stop cancelled it
        try:
            outcome = await self._handle_plain(event)
        finally:
            observer.end(state, name, event, outcome, time.monotonic() - started)
        return outcome

    async def _push_observed(self, outgoing: list[Event]) -> None:
        if not outgoing:
            return
        outgoing, sent = cast("Observer", self._observer).sending(outgoing)
        try:
            await self._push_plain(outgoing)
        except BaseException as error:
            sent(error)
            raise
        sent(None)

    async def _handle_plain(self, event: Event) -> str:
        """Process, publish and settle one message; returns the outcome."""
        counters = self.counters
        counters.received += 1
        counters.in_flight += 1
        started = time.monotonic()
        self._in_flight[id(event)] = _Flight(event, started)
        actor: Any = None
        outcome = "succeeded"
        try:
            if self._inbox is None:
                actor = self._factory()
                results = await actor.process(event)
                if results:
                    await self._push(_stamp_all(event, results))
            else:
                outcome = await self._process_once(event, self._inbox)
        except asyncio.CancelledError:
            outcome = "abandoned"
            await self._settle_quietly(self._operator.abandon(event))
            raise
        except LeaseLostError as error:
            outcome = "lease lost"
            counters.lease_lost += 1
            logger.warning("%s: %s", self.descriptor.name, error)
        except Exception as error:
            outcome = await self._fail(event, error)
        else:
            try:
                await self._operator.complete(event)
            except Exception as error:
                outcome = self._complete_failed(event, error)
            else:
                if outcome == "duplicate":
                    counters.duplicates += 1
                else:
                    counters.succeeded += 1
        finally:
            del self._in_flight[id(event)]
            counters.in_flight -= 1
            elapsed = time.monotonic() - started
            counters.observe(elapsed)
            if actor is not None and self._closes:
                await self._close(actor)
            self._log(event, outcome, elapsed)
        return outcome

    async def _process_once(self, event: Event, inbox: Inbox) -> str:
        """Process through the inbox: one read, then process, record and publish, or replay.

        A copy of an event this consumer is already processing waits for that run to end
        (keeping its lease), then finds its record: in one process, an idempotent actor runs
        once per event id even when copies arrive together.
        """
        while (running := self._running.get(event.id)) is not None:
            await running.wait()
        done = self._running[event.id] = asyncio.Event()
        try:
            return await self._process_alone(event, inbox)
        finally:
            del self._running[event.id]
            done.set()

    async def _process_alone(self, event: Event, inbox: Inbox) -> str:
        name = self.descriptor.name
        recorded = await inbox.recall(name, event.id)
        if recorded is None:
            actor = self._factory()
            try:
                outgoing = _stamp_all(event, await actor.process(event))
            finally:
                if self._closes:
                    await self._close(actor)
            recorded = await inbox.record(name, event.id, outgoing)
            if recorded is None:
                await self._push(outgoing)
                return "succeeded"
        # Done before, or by a concurrent copy. A redelivery of this message may follow an
        # attempt that recorded and then failed to publish: send what was recorded again, with
        # the same ids (the next idempotent actor filters them). Another copy's first delivery
        # sends nothing: the message that recorded publishes, or is redelivered until it has,
        # and re-sending from every copy would multiply duplicates at every hop.
        if event.delivery_count > 1:
            await self._push(recorded.events)
        return "duplicate"

    def _complete_failed(self, event: Event, error: Exception) -> str:
        """A processed message could not be completed: leave it to the broker to redeliver.

        Its events are out: abandoning or dead-lettering it now would be wrong, so the failure
        is only logged, and the lease runs out.
        """
        self.counters.lease_lost += 1
        if isinstance(error, LeaseLostError):
            logger.warning("%s: %s", self.descriptor.name, error)
            return "lease lost"
        logger.error(
            "%s: completing %s %s failed",
            self.descriptor.name,
            event.event_type,
            event.id,
            exc_info=error,
        )
        return "settle failed"

    async def _push_plain(self, outgoing: list[Event]) -> None:
        if not outgoing:
            return
        if len(outgoing) == 1:
            await self._operator.push(outgoing[0])
            return
        groups: dict[str, list[Event]] = {}
        for event in outgoing:
            groups.setdefault(event.queue_name, []).append(event)
        for group in groups.values():
            await self._operator.push_batch(group)

    async def _fail(self, event: Event, error: Exception) -> str:
        """Retry or dead-letter after a failure; returns the outcome for the log."""
        descriptor, counters = self.descriptor, self.counters
        if not isinstance(error, Retry | DeadLetter) and self._on_failure is not None:
            self._on_failure(descriptor, event, error)
        reason = f"{descriptor.name} raised {type(error).__name__}: {error}"
        final = event.delivery_count >= descriptor.max_deliveries
        try:
            if isinstance(error, BadEventBody | DeadLetter) or final:
                if final and not isinstance(error, BadEventBody | DeadLetter):
                    reason += f" (delivery {event.delivery_count} of {descriptor.max_deliveries})"
                await self._operator.dead_letter(
                    event,
                    reason[:4096],
                    type(error).__name__,
                    actor=descriptor.name,
                    error_type=type(error).__name__,
                )
                counters.dead_lettered += 1
                logger.error(
                    "%s: dead-lettered %s %s: %s",
                    descriptor.name,
                    event.event_type,
                    event.id,
                    reason,
                    exc_info=None if isinstance(error, DeadLetter) else error,
                )
                return "dead-lettered"
            delay = error.delay if isinstance(error, Retry) else None
            if delay is None:
                delay = self._backoff.delay(event.delivery_count)
            await self._operator.abandon(event, delay)
            counters.retried += 1
            if not isinstance(error, Retry):
                logger.warning(
                    "%s: %s, retrying in %.2fs", descriptor.name, reason, delay, exc_info=error
                )
            return "retried"
        except LeaseLostError as lost:
            counters.lease_lost += 1
            logger.warning("%s: %s", descriptor.name, lost)
            return "lease lost"
        except Exception:
            # The broker failed us too: the lease runs out and the message comes back.
            counters.lease_lost += 1
            logger.exception(
                "%s: settling %s %s failed", descriptor.name, event.event_type, event.id
            )
            return "settle failed"

    async def _renew_leases(self) -> None:
        """Renew the lease of every message in flight for longer than a quarter lease.

        One task per consumer, not a timer per message: renewal costs nothing per message.
        Leases are renewed until ``max_lease_seconds``, then left to expire.
        """
        descriptor = self.descriptor
        interval = descriptor.lease_seconds / 4
        while True:
            await asyncio.sleep(interval)
            now = time.monotonic()
            due = [
                flight
                for flight in self._in_flight.values()
                if now - flight.renewed >= interval
                and now - flight.started + descriptor.lease_seconds <= descriptor.max_lease_seconds
            ]
            for flight in due:
                flight.renewed = now
            await asyncio.gather(*(self._renew(f.event) for f in due))

    async def _renew(self, event: Event) -> None:
        try:
            await self._operator.renew_lease(event)
        except Exception as error:
            logger.warning("%s: %s", self.descriptor.name, error)
        else:
            self.counters.lease_renewals += 1

    async def _settle_quietly(self, settle: Any) -> None:
        try:
            await settle
        except Exception as error:
            logger.warning("%s: %s", self.descriptor.name, error)

    async def _close(self, actor: Any) -> None:
        try:
            await actor.aclose()
        except Exception:
            logger.exception("%s: aclose failed", self.descriptor.name)

    def _log(self, event: Event, outcome: str, elapsed: float) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "%s %s %s %s delivery=%d %.1fms",
                self.descriptor.name,
                outcome,
                event.event_type,
                event.id,
                event.delivery_count,
                elapsed * 1000,
                extra={
                    "actor": self.descriptor.name,
                    "event_type": event.event_type,
                    "event_id": event.id,
                    "delivery_count": event.delivery_count,
                    "outcome": outcome,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
