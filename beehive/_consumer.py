"""One actor descriptor at work: its workers lease messages and run each through the pipeline.

The consumer owns what happens between the broker and the middleware: leasing (with backoff
while the broker fails), the in-flight table whose leases one task renews, handing control
back to the event loop every few messages, and the host's own three steps at the core of the
pipeline: run the actor, publish what it returned, settle the message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Final, cast

from beehive._clock import monotonic
from beehive._lineage import HANDLING, Lineage
from beehive._outgoing import publish, stamp_all
from beehive.actors import ActorDescriptor
from beehive.backoff import Backoff
from beehive.errors import BadEventBody, DeadLetter, LeaseLostError, Retry
from beehive.events import Event
from beehive.middleware.base import Message, Middleware, Outcome, Pipeline
from beehive.queues.base import QueueOperator

logger = logging.getLogger("beehive.host")

FailureHook = Callable[[ActorDescriptor, Event, BaseException], None]

# Read per message: module constants are cheaper to reach than enum members.
SUCCEEDED, DUPLICATE, ABANDONED = Outcome.SUCCEEDED, Outcome.DUPLICATE, Outcome.ABANDONED

YIELD_EVERY: Final = 16
"""Messages a consumer handles between two yields to the event loop.

On the in-memory broker nothing else would suspend a worker whose actor never awaits: one
worker would take every message while the other workers, the next actor in the chain, lease
renewal and timers waited. A yield every few messages (holding a leased one, so
``parallelism`` is reached) keeps them all moving at a fraction of the cost of one per
message.
"""


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
        middleware: Sequence[Middleware] = (),
    ) -> None:
        self.descriptor = descriptor
        self._operator = operator
        self._factory = factory
        self._closes = callable(getattr(descriptor.actor_type, "aclose", None))
        self._backoff = backoff
        self._poll_wait = poll_wait
        self._on_failure = on_failure
        self._pipeline = Pipeline(
            [m for m in middleware if m.applies_to(descriptor)],
            handle=self._settle,
            process=self._act,
            publish=self._send,
        )
        self._publish_hooked = self._pipeline.publish != self._send
        self._workers: list[asyncio.Task[None]] = []
        self._leasing: set[asyncio.Task[None]] = set()
        self._in_flight: dict[Message, float] = {}  # when each lease was last renewed
        self._renewer: asyncio.Task[None] | None = None
        self._turns = 0
        self._stopping = False
        self.lease_renewals = 0
        """Leases renewed while a message took longer than a quarter of the lease."""

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

    # -- the workers ----------------------------------------------------------------------------

    async def _work(self) -> None:
        task = cast("asyncio.Task[None]", asyncio.current_task())
        descriptor, actor, pipeline = self.descriptor, self.descriptor.name, self._pipeline
        queue = descriptor.source  # a str: found by identity in the operator's name cache
        # Read once per worker, not once per message.
        lease, wait, leasing, in_flight = (
            self._operator.next,
            self._poll_wait,
            self._leasing,
            self._in_flight,
        )
        failures = 0
        while not self._stopping:
            leasing.add(task)
            try:
                events = await lease(queue, max_count=1, wait=wait)
                failures = 0
            except asyncio.CancelledError:
                if self._stopping:
                    return
                raise
            except Exception:
                # The broker is unreachable or failing: keep trying, without hammering it.
                failures += 1
                logger.exception("%s: leasing from %s failed", actor, queue)
                await asyncio.sleep(self._backoff.delay(failures))
                continue
            finally:
                leasing.discard(task)
            for event in events:
                # Whatever happens, the message leaves the in-flight table (once per message:
                # inlined, not a coroutine of its own).
                message = Message(event, descriptor, actor)
                in_flight[message] = message.leased_at
                outcome: Outcome | None = None
                try:
                    for received in pipeline.received:
                        received(message)
                    self._turns += 1
                    if self._turns >= YIELD_EVERY:
                        self._turns = 0
                        await asyncio.sleep(0)
                    outcome = await pipeline.handle(message)
                except BaseException as error:
                    outcome = await self._escaped(message, error)
                finally:
                    del in_flight[message]
                    self._settled(message, outcome or message.outcome or ABANDONED)
                if outcome is ABANDONED and task.cancelling():
                    raise asyncio.CancelledError  # a stop cancelled it: the worker stops too

    async def _escaped(self, message: Message, error: BaseException) -> Outcome:
        """An exception out of the pipeline: a cancellation abandons an unsettled message (and
        goes on); an exception a middleware raised before the message was settled fails it as
        the actor's would."""
        if isinstance(error, asyncio.CancelledError):
            if message.outcome is None:
                await self._quietly(self._operator.abandon(message.event))
                message.outcome = ABANDONED
            raise error
        if not isinstance(error, Exception):
            raise error
        if message.outcome is not None:
            logger.exception("%s: a middleware failed after settling", message.actor)
            return message.outcome
        message.outcome = await self._fail(message, error)
        return message.outcome

    # -- the core of the pipeline ---------------------------------------------------------------

    async def _settle(self, message: Message) -> Outcome:
        """Process and publish (through the middleware), then complete, retry or dead-letter.

        A stop that cancels the message abandons it and returns ``ABANDONED``, so every
        middleware sees the outcome; the worker then ends cancelled.
        """
        pipeline = self._pipeline
        try:
            events = await pipeline.process(message)
            if events or self._publish_hooked:  # middleware see every publish step
                await pipeline.publish(message, events)
        except asyncio.CancelledError:
            outcome = ABANDONED
            await self._quietly(self._operator.abandon(message.event))
        except LeaseLostError as error:
            outcome = Outcome.LEASE_LOST
            logger.warning("%s: %s", self.descriptor.name, error)
        except Exception as error:
            outcome = await self._fail(message, error)
        else:
            try:
                await self._operator.complete(message.event)
            except Exception as error:
                outcome = self._complete_failed(message.event, error)
            else:
                outcome = DUPLICATE if message.duplicate else SUCCEEDED
        message.outcome = outcome
        return outcome

    async def _act(self, message: Message) -> list[Event]:
        """Build the actor, run it, close it: the events it returned, stamped."""
        event = message.event
        actor = self._factory()
        # What the actor makes descends from this event (see beehive._lineage); the context
        # variable is set here directly, once per message.
        lineage = HANDLING.set(Lineage(event.id, message.actor))
        try:
            results = await actor.process(event)
        finally:
            HANDLING.reset(lineage)
            if self._closes:
                await self._close(actor)
        return stamp_all(event, results)

    async def _send(self, message: Message, events: list[Event]) -> None:
        if len(events) == 1:  # the usual case, without one more coroutine
            await self._operator.push(events[0])
        else:
            await publish(self._operator, events)

    def _complete_failed(self, event: Event, error: Exception) -> Outcome:
        """A processed message could not be completed: leave it to the broker to redeliver.

        Its events are out: abandoning or dead-lettering it now would be wrong, so the failure
        is only logged, and the lease runs out.
        """
        if isinstance(error, LeaseLostError):
            logger.warning("%s: %s", self.descriptor.name, error)
            return Outcome.LEASE_LOST
        logger.error(
            "%s: completing %s %s failed",
            self.descriptor.name,
            event.event_type,
            event.id,
            exc_info=error,
        )
        return Outcome.SETTLE_FAILED

    async def _fail(self, message: Message, error: Exception) -> Outcome:
        """Retry or dead-letter after a failure."""
        descriptor, event = self.descriptor, message.event
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
                logger.error(
                    "%s: dead-lettered %s %s: %s",
                    descriptor.name,
                    event.event_type,
                    event.id,
                    reason,
                    exc_info=None if isinstance(error, DeadLetter) else error,
                )
                return Outcome.DEAD_LETTERED
            delay = error.delay if isinstance(error, Retry) else None
            if delay is None:
                delay = self._backoff.delay(event.delivery_count)
            await self._operator.abandon(event, delay)
            if not isinstance(error, Retry):
                logger.warning(
                    "%s: %s, retrying in %.2fs", descriptor.name, reason, delay, exc_info=error
                )
            return Outcome.RETRIED
        except LeaseLostError as lost:
            logger.warning("%s: %s", descriptor.name, lost)
            return Outcome.LEASE_LOST
        except Exception:
            # The broker failed us too: the lease runs out and the message comes back.
            logger.exception(
                "%s: settling %s %s failed", descriptor.name, event.event_type, event.id
            )
            return Outcome.SETTLE_FAILED

    # -- leases, closing, logging ---------------------------------------------------------------

    async def _renew_leases(self) -> None:
        """Renew the lease of every message in flight for longer than a quarter lease.

        One task per consumer, not a timer per message: renewal costs nothing per message.
        Leases are renewed until ``max_lease_seconds``, then left to expire.
        """
        descriptor = self.descriptor
        interval = descriptor.lease_seconds / 4
        while True:
            await asyncio.sleep(interval)
            now = monotonic()
            due = [
                message
                for message, renewed in self._in_flight.items()
                if now - renewed >= interval
                and now - message.leased_at + descriptor.lease_seconds
                <= descriptor.max_lease_seconds
            ]
            for message in due:
                self._in_flight[message] = now
            await asyncio.gather(*(self._renew(m.event) for m in due))

    async def _renew(self, event: Event) -> None:
        try:
            await self._operator.renew_lease(event)
        except Exception as error:
            logger.warning("%s: %s", self.descriptor.name, error)
        else:
            self.lease_renewals += 1

    async def _quietly(self, settle: Any) -> None:
        try:
            await settle
        except Exception as error:
            logger.warning("%s: %s", self.descriptor.name, error)

    async def _close(self, actor: Any) -> None:
        try:
            await actor.aclose()
        except Exception:
            logger.exception("%s: aclose failed", self.descriptor.name)

    def _settled(self, message: Message, outcome: Outcome) -> None:
        """Tell the middleware (innermost first) how the message ended, then log it."""
        try:
            for settled in self._pipeline.settled:
                settled(message, outcome)
        except Exception:
            logger.exception("%s: a middleware failed on a settled message", message.actor)
        if logger.isEnabledFor(logging.DEBUG):  # one line per message: DEBUG only
            event = message.event
            elapsed = monotonic() - message.leased_at
            logger.debug(
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
                    "outcome": outcome.value,
                    "duration_ms": round(elapsed * 1000, 3),
                },
            )
