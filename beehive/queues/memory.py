"""The embedded broker: in memory, faithful to Service Bus semantics.

Topics fan out a copy to every subscription; a lease is a lock with a duration, and an expired
lock makes the message visible again with one more delivery; ``enqueue_time`` is honoured; the
broker dead-letters a message delivered more than ``max_deliveries`` times; a consumer waiting
in ``next`` wakes the moment a message arrives. Nothing survives the process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from beehive._clock import monotonic, utcnow
from beehive.errors import QueueConflictError, QueueNotFoundError
from beehive.events import Event
from beehive.names import QueueName
from beehive.queues._lineup import Lineup
from beehive.queues.base import (
    DEAD_LETTER_REASON,
    MAX_DELIVERIES_EXCEEDED,
    SESSION_ID_REQUIRED,
    DeadLetterInfo,
    IdleAware,
    QueueDepth,
    QueueOperator,
    QueueSettings,
    Replay,
    Selector,
    no_destination,
    seconds,
)

logger = logging.getLogger("beehive.queues.memory")


@dataclass(eq=False, slots=True)
class _Message:
    event: Event
    deliveries: int = 0


@dataclass(eq=False, slots=True)
class _Lease:
    queue: _Queue
    message: _Message
    expires_at: float


def _timer(at: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
    """A timer for ``at`` on beehive's monotonic clock (the loop's own, or a virtual one),
    which lease expiry times are read on: cheaper per lease than the running loop's time()."""
    return asyncio.get_running_loop().call_later(max(0.0, at - monotonic()), callback)


def _session_of(message: _Message) -> str:
    return message.event.session_id or ""


@dataclass(eq=False)
class _Queue:
    """A subscription or plain queue; with sessions, at most one message per session is leased."""

    name: QueueName
    settings: QueueSettings
    scheduled: int = 0
    # Live leases in expiry order: every lease of a queue lasts as long, and a renewed one
    # moves to the end. So one timer, armed for the first, serves them all.
    leases: dict[_Lease, None] = field(default_factory=dict)
    expiry: asyncio.TimerHandle | None = None
    dead: list[Event] = field(default_factory=list)
    lineup: Lineup[_Message] = field(init=False)

    def __post_init__(self) -> None:
        self.lineup = Lineup(sessions=self.settings.sessions, session_of=_session_of)

    def hold(self, lease: _Lease) -> None:
        self.leases[lease] = None
        if self.expiry is None:
            self.expiry = _timer(lease.expires_at, self.sweep)

    def sweep(self) -> None:
        """Make messages whose lease expired visible again, then re-arm for the next."""
        self.expiry = None
        now = monotonic()
        for lease in list(self.leases):
            if lease.expires_at > now:
                self.expiry = _timer(lease.expires_at, self.sweep)
                return
            del self.leases[lease]
            self.lineup.put(lease.message, front=True)
            self.lineup.release(lease.message)

    @property
    def leased(self) -> int:
        return len(self.leases)

    @property
    def active(self) -> int:
        return len(self.lineup)


class InMemoryQueueOperator(QueueOperator, IdleAware):
    """The embedded default broker. Safe for any number of tasks on one event loop."""

    max_id_length = 128

    def __init__(self) -> None:
        super().__init__()
        self._topics: dict[str, dict[str, _Queue]] = {}
        self._queues: dict[str, _Queue] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        # id(name) -> (name, queue): names come from the base's cache, one object per name, so
        # identity finds them without QueueName's (Python-level) hash and equality.
        self._lookup: dict[int, tuple[QueueName, _Queue]] = {}
        self._live = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # -- topology -------------------------------------------------------------------------------

    async def _setup(self, name: QueueName, settings: QueueSettings) -> None:
        if name.subscription is not None:
            subscriptions = self._topic_for_setup(name.topic)
            subscriptions.setdefault(name.subscription, _Queue(name, settings))
        elif name.is_topic:
            self._topic_for_setup(name.topic)
        else:
            if name.topic in self._topics:
                raise QueueConflictError(f"cannot create queue {name}: a topic has that name")
            self._queues.setdefault(name.topic, _Queue(name, settings))

    def _topic_for_setup(self, topic: str) -> dict[str, _Queue]:
        if topic in self._queues:
            raise QueueConflictError(f"cannot create topic {topic}: a queue has that name")
        return self._topics.setdefault(topic, {})

    async def _delete(self, name: QueueName) -> None:
        if name.is_subscription:
            removed = [self._topics.get(name.topic, {}).pop(name.subscription or "", None)]
        elif name.topic in self._topics:
            removed = list(self._topics.pop(name.topic).values())
        else:
            removed = [self._queues.pop(name.topic, None)]
        self._lookup.clear()
        for queue in removed:
            if queue is not None:
                if queue.expiry is not None:
                    queue.expiry.cancel()
                self._discard(queue.active + queue.scheduled + queue.leased)
                # Its leases go with it: settling one later must not count its message again.
                queue.leases.clear()
                queue.lineup.wake_all()

    async def _exists(self, name: QueueName) -> bool:
        if name.is_subscription:
            return name.subscription in self._topics.get(name.topic, {})
        if name.is_topic:
            return name.topic in self._topics
        return name.topic in self._queues

    def _receiving(self, name: QueueName) -> _Queue:
        known = self._lookup.get(id(name))
        if known is not None and known[0] is name:
            return known[1]
        queue = (
            self._topics.get(name.topic, {}).get(name.subscription)
            if name.subscription
            else self._queues.get(name.topic)
        )
        if queue is None:
            raise QueueNotFoundError(f"no subscription or queue named {name}; call setup_queue")
        self._lookup[id(name)] = (name, queue)  # the entry keeps the name, so its id stays its
        return queue

    # -- sending --------------------------------------------------------------------------------

    async def _send(self, events: Sequence[Event]) -> None:
        for event in events:
            self._send_one(event)

    def _send_one(self, event: Event) -> None:
        name = event.queue_name or event.event_type  # destination(event), inlined: once a hop
        subscriptions = self._topics.get(name)
        targets: Iterable[_Queue]
        if subscriptions is not None:
            if not subscriptions:
                self._dropped(event, name)
                return
            targets = subscriptions.values()  # _accept never changes the topology
        elif name in self._queues:
            targets = (self._queues[name],)
        else:
            raise no_destination(event, name)
        enqueue_time = event.enqueue_time
        delay = 0.0 if enqueue_time is None else (enqueue_time - utcnow()).total_seconds()
        for queue in targets:
            self._accept(queue, _Message(event), delay)

    def _accept(self, queue: _Queue, message: _Message, delay: float) -> None:
        self._live += 1
        if self._live == 1:  # it was idle (set exactly while nothing is live)
            self._idle.clear()
        if queue.settings.sessions and message.event.session_id is None:
            description = f"{queue.name} requires sessions: publish with a session_id"
            info = DeadLetterInfo.now(SESSION_ID_REQUIRED, description, message.deliveries)
            self._bury(queue, message, info, held=False)
        elif delay > 0:
            self._later(queue, message, delay)
        else:
            queue.lineup.put(message)

    def _later(
        self, queue: _Queue, message: _Message, delay: float, *, front: bool = False
    ) -> None:
        queue.scheduled += 1

        def due() -> None:
            self._timers.discard(timer)
            queue.scheduled -= 1
            queue.lineup.put(message, front=front)
            if front:
                queue.lineup.release(message)

        timer = asyncio.get_running_loop().call_later(delay, due)
        self._timers.add(timer)

    # -- receiving ------------------------------------------------------------------------------

    async def _receive(
        self, name: QueueName, max_count: int, wait: float
    ) -> list[tuple[Event, _Lease]]:
        queue = self._receiving(name)
        leased = self._lease(queue, max_count)
        if leased:
            return leased
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while loop.time() < deadline:
            if not await queue.lineup.wait(deadline):
                return []
            leased = self._lease(self._receiving(name), max_count)
            if leased:
                return leased
        return []

    def _lease(self, queue: _Queue, max_count: int) -> list[tuple[Event, _Lease]]:
        take = queue.lineup.take
        message = take()
        if message is None:
            return []
        leased: list[tuple[Event, _Lease]] = []
        expires_at = monotonic() + queue.settings.lease_seconds
        while True:
            message.deliveries += 1
            if message.deliveries > queue.settings.max_deliveries:
                done = message.deliveries - 1  # this one is not a delivery: it is dead-lettered
                description = f"delivered {done} times without completion"
                info = DeadLetterInfo.now(MAX_DELIVERIES_EXCEEDED, description, done)
                self._bury(queue, message, info, held=True)
            else:
                lease = _Lease(queue, message, expires_at)
                queue.hold(lease)
                leased.append((message.event.evolve({"delivery_count": message.deliveries}), lease))
            if len(leased) == max_count:
                return leased
            message = take()
            if message is None:
                return leased

    # -- settling -------------------------------------------------------------------------------

    def _lease_lost(self, handle: _Lease) -> bool:
        return handle not in handle.queue.leases

    async def _complete(self, handle: _Lease) -> None:
        queue = handle.queue
        del queue.leases[handle]
        if queue.settings.sessions:
            queue.lineup.release(handle.message)
        self._live -= 1
        if self._live <= 0:
            self._discard(0)

    async def _abandon(self, handle: _Lease, delay: float) -> None:
        queue, message = handle.queue, handle.message
        del queue.leases[handle]
        if delay <= 0:
            queue.lineup.put(message, front=True)
            queue.lineup.release(message)
        else:
            # A session stays held while its head waits, so later messages cannot overtake it.
            self._later(queue, message, delay, front=queue.settings.sessions)

    async def _dead_letter(self, handle: _Lease, info: DeadLetterInfo) -> None:
        del handle.queue.leases[handle]
        self._bury(handle.queue, handle.message, info, held=True)

    def _bury(self, queue: _Queue, message: _Message, info: DeadLetterInfo, *, held: bool) -> None:
        """Dead-letter a message; ``held`` when it was taken from the queue (its session too)."""
        dead = info.stamp(message.event)
        queue.dead.append(dead)
        self.dead_lettered(queue.name, dead)
        if held:
            queue.lineup.release(message)
        self._discard(1)
        logger.log(
            # The host logs what it dead-letters (info.actor): one entry tells each dead letter.
            logging.DEBUG if info.actor else logging.WARNING,
            "dead-lettered event %s %s in %s: %s",
            message.event.event_type,
            message.event.id,
            queue.name,
            info.reason,
        )

    def dead_lettered(self, queue: QueueName, event: Event) -> None:
        """Called with each dead letter as it is stored, whoever made it (a hook for tests)."""

    async def _renew(self, handle: _Lease) -> None:
        handle.expires_at = monotonic() + handle.queue.settings.lease_seconds
        del handle.queue.leases[handle]
        handle.queue.hold(handle)

    # -- dead letters ---------------------------------------------------------------------------

    async def _peek_dead_letters(self, name: QueueName) -> list[Event]:
        return list(self._receiving(name).dead)

    async def _sweep_dead_letters(
        self, name: QueueName, selector: Selector, replay: Replay | None
    ) -> int:
        queue = self._receiving(name)
        kept: list[Event] = []
        done = 0
        for event in list(queue.dead):
            if not selector(event.id, str(event.properties.get(DEAD_LETTER_REASON, ""))):
                kept.append(event)
                continue
            if replay is not None:
                await replay(event)
            done += 1
        queue.dead[:] = kept
        return done

    async def _requeue(self, name: QueueName, event: Event) -> None:
        self._accept(self._receiving(name), _Message(event), 0.0)

    # -- inspection -----------------------------------------------------------------------------

    async def _depth(self, name: QueueName) -> QueueDepth:
        queue = self._receiving(name)
        return QueueDepth(
            active=queue.active,
            scheduled=queue.scheduled,
            leased=queue.leased,
            dead_lettered=len(queue.dead),
        )

    def _discard(self, count: int) -> None:
        self._live -= count
        if self._live <= 0:
            self._live = 0
            self._idle.set()

    async def wait_idle(self, timeout: float | timedelta | None = None) -> None:
        """Wait until every message is completed or dead-lettered (none ready, scheduled, leased).

        Raises TimeoutError when that does not happen within ``timeout``.
        """
        async with asyncio.timeout(None if timeout is None else seconds(timeout)):
            await self._idle.wait()

    @property
    def is_idle(self) -> bool:
        return self._live == 0

    @property
    def pending(self) -> int:
        """Messages still ready, scheduled or leased (lost when the process ends)."""
        return self._live

    async def _close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for queue in self._all_queues():
            if queue.expiry is not None:
                queue.expiry.cancel()
                queue.expiry = None

    def _all_queues(self) -> list[_Queue]:
        subscriptions = [q for topic in self._topics.values() for q in topic.values()]
        return subscriptions + list(self._queues.values())
