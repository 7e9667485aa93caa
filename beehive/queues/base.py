"""The broker contract (BeeHive's IEventQueueOperator), with the logic every backend shares.

``QueueOperator``'s public methods are written once, here: they check their arguments, parse
queue names, find the lease of the event being settled, stamp dead-letter metadata, choose the
dead letters to replay or purge, and turn a broker library's exceptions into beehive's. Each
then calls a small private hook (``_setup``, ``_send``, ``_receive``, ``_complete``...) that a
backend implements with what is specific to its broker, and nothing else.

A leased event is a plain immutable :class:`~beehive.events.Event`. The broker's handle on it
(its lock, delivery tag or received message) stays inside the operator that leased it, keyed by
the identity of the event object ``next`` returned: settle that very object.

Optional capabilities are explicit: :class:`IdleAware` operators can tell when no message is
left anywhere (the in-memory broker, for tests and local runs).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Final, Self

from beehive._clock import utcnow
from beehive.errors import BeeHiveError, BrokerLimitError, LeaseLostError, QueueNotFoundError
from beehive.events import Event, PropertyValue
from beehive.names import QueueName

logger = logging.getLogger("beehive.queues")

DEAD_LETTER_REASON: Final = "dead_letter_reason"
DEAD_LETTER_DESCRIPTION: Final = "dead_letter_description"
DEAD_LETTER_ACTOR: Final = "dead_letter_actor"
"""Set on a dead letter by the host: the actor (``Actor@source``) that gave up on it."""
DEAD_LETTER_ERROR_TYPE: Final = "dead_letter_error_type"
"""Set on a dead letter by the host: the name of the exception type the actor raised."""
DEAD_LETTERED_AT: Final = "dead_lettered_at"
"""When the message was dead-lettered (ISO 8601, UTC)."""
DEAD_LETTER_KEYS: Final = frozenset(
    {
        DEAD_LETTER_REASON,
        DEAD_LETTER_DESCRIPTION,
        DEAD_LETTER_ACTOR,
        DEAD_LETTER_ERROR_TYPE,
        DEAD_LETTERED_AT,
    }
)
"""The properties a dead letter carries about its dead-lettering (a replay removes them)."""
REPLAYED_AT: Final = "replayed_at"
"""Set on a replayed dead letter: when it was replayed (ISO 8601, UTC)."""
REPLAY_COUNT: Final = "replay_count"
"""Set on a replayed dead letter: how many times it has been replayed so far."""

MAX_DELIVERIES_EXCEEDED: Final = "MaxDeliveryCountExceeded"
"""The reason a broker gives when it dead-letters a message delivered too many times."""
SESSION_ID_REQUIRED: Final = "SessionIdRequired"
"""The reason a broker gives when a session queue receives a message without a session id."""
UNKNOWN_TIME: Final = datetime.fromtimestamp(0, UTC)
"""The timestamp of a peeked dead letter whose message carried none (another publisher's, an
unreadable one): tools show its age as unknown rather than as "just now"."""


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """How a subscription or queue treats its messages.

    ``max_deliveries``: deliveries before the broker dead-letters a message.
    ``lease_seconds``: how long a leased message stays invisible to others (the lock duration).
    ``sessions``: messages with the same ``session_id`` are delivered one at a time, in order.
    ``prefetch``: how many messages a backend may fetch ahead of its consumers (the host sets
    it to the actor's parallelism; None lets the backend choose).
    """

    max_deliveries: int = 10
    lease_seconds: float = 60.0
    sessions: bool = False
    prefetch: int | None = None

    def __post_init__(self) -> None:
        if self.max_deliveries < 1:
            raise ValueError(f"max_deliveries must be at least 1, got {self.max_deliveries}")
        if self.lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive, got {self.lease_seconds}")
        if self.prefetch is not None and self.prefetch < 1:
            raise ValueError(f"prefetch must be at least 1, got {self.prefetch}")


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """How many messages a subscription or queue holds, by state.

    ``active``: ready for delivery. ``scheduled``: waiting for their enqueue time or a retry
    delay. ``leased``: delivered and not settled yet. ``dead_lettered``: in its dead-letter
    queue. None means the broker cannot tell (RabbitMQ counts no leased or delayed messages
    without its management plugin; Service Bus counts no locked ones).
    """

    active: int
    scheduled: int | None = 0
    leased: int | None = 0
    dead_lettered: int = 0


@dataclass(frozen=True, slots=True)
class DeadLetterInfo:
    """Why and when a message was dead-lettered, each fact a property of its own.

    ``actor`` and ``error_type`` are set when the host dead-lettered it (None when the broker
    did, for example after ``max_deliveries``); ``delivery_count`` is its deliveries by then.
    Read it from a peeked dead letter with :meth:`of`.
    """

    reason: str
    description: str | None = None
    actor: str | None = None
    error_type: str | None = None
    delivery_count: int = 0
    dead_lettered_at: datetime | None = None

    @classmethod
    def of(cls, event: Event) -> DeadLetterInfo:
        """The dead-letter metadata an event from ``dead_letters`` carries."""
        properties = event.properties
        at = properties.get(DEAD_LETTERED_AT)
        return cls(
            reason=str(properties.get(DEAD_LETTER_REASON, "")),
            description=_text(properties.get(DEAD_LETTER_DESCRIPTION)),
            actor=_text(properties.get(DEAD_LETTER_ACTOR)),
            error_type=_text(properties.get(DEAD_LETTER_ERROR_TYPE)),
            delivery_count=event.delivery_count,
            dead_lettered_at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        )

    @classmethod
    def now(
        cls,
        reason: str,
        description: str | None,
        delivery_count: int,
        *,
        actor: str | None = None,
        error_type: str | None = None,
    ) -> DeadLetterInfo:
        """Metadata for a message dead-lettered now (by the host, or by the broker itself)."""
        return cls(reason, description, actor, error_type, delivery_count, utcnow())

    def properties(self) -> dict[str, PropertyValue]:
        """The event properties that carry this metadata (those that are set)."""
        values: dict[str, PropertyValue | None] = {
            DEAD_LETTER_REASON: self.reason,
            DEAD_LETTER_DESCRIPTION: self.description,
            DEAD_LETTER_ACTOR: self.actor,
            DEAD_LETTER_ERROR_TYPE: self.error_type,
            DEAD_LETTERED_AT: self.dead_lettered_at.isoformat() if self.dead_lettered_at else None,
        }
        return {key: value for key, value in values.items() if value is not None}

    def stamp(self, event: Event) -> Event:
        """``event`` as its dead-letter queue shows it: this metadata among its properties."""
        return event.evolve(
            {
                "properties": {**event.properties, **self.properties()},
                "delivery_count": self.delivery_count,
            }
        )


def _text(value: PropertyValue | None) -> str | None:
    return None if value is None else str(value)


def replayed(event: Event, now: datetime | None = None) -> Event:
    """A dead letter as it goes back to its queue: no dead-letter metadata, the replay recorded,
    delivery 1 next."""
    properties: dict[str, PropertyValue] = {
        key: value for key, value in event.properties.items() if key not in DEAD_LETTER_KEYS
    }
    count = properties.get(REPLAY_COUNT, 0)
    properties[REPLAY_COUNT] = (count if isinstance(count, int) else 0) + 1
    properties[REPLAYED_AT] = (now or utcnow()).isoformat()
    return event.evolve({"properties": properties, "delivery_count": 0})


def seconds(value: float | timedelta | None) -> float:
    """A duration given as seconds or a timedelta, in seconds (None is 0)."""
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def destination(event: Event) -> str:
    """The topic or queue an event is sent to: its ``queue_name``, else its ``event_type``."""
    return event.queue_name or event.event_type


def no_destination(event: Event, name: str, why: str = "call setup_queue first") -> Exception:
    """The error for an event sent to a topic or queue that does not exist."""
    return QueueNotFoundError(
        f"cannot publish event {event.event_type} {event.id}: no topic or queue named "
        f"{name!r}; {why}"
    )


Selector = Callable[[str | None, str], bool]
"""Whether a dead letter, given its event id (None if unreadable) and reason, is chosen."""
Replay = Callable[[Event], Awaitable[None]]
"""Sends one dead letter (with its metadata) back into its own subscription or queue."""


class QueueOperator(ABC):
    """A broker: topics that fan out to subscriptions, plain queues, and leased messages.

    Names are ``QueueName`` values or their string form. Settle (complete, abandon,
    dead-letter, renew) the very event object ``next`` returned; settling any other object,
    or one already settled, raises ``LeaseLostError``.

    A backend implements the private hooks; see the module docstring. Broker library errors
    come out as ``BrokerError`` (``BrokerUnavailableError`` when the broker cannot be reached
    or refuses the login), never as the library's own exceptions.
    """

    max_id_length: ClassVar[int | None] = None
    """The longest ``id`` and ``session_id`` the broker takes (None: no limit of its own)."""

    def __init__(self) -> None:
        # id(event) -> (event, handle, queue): the event is kept so its id stays unique.
        self._leases: dict[int, tuple[Event, Any, QueueName]] = {}
        self._names: dict[str | QueueName, QueueName] = {}
        self._receivables: dict[str | QueueName, QueueName] = {}
        self._translating = _Translating(self)
        self.dropped = 0
        """Events published to a topic that had no subscription (Service Bus drops them too)."""

    # -- topology -------------------------------------------------------------------------------

    async def setup_queue(
        self, name: str | QueueName, settings: QueueSettings | None = None
    ) -> None:
        """Create the topic, subscription (and its topic) or queue if missing.

        An existing entity keeps its settings. A plain queue and a topic cannot share a name
        (``QueueConflictError``).
        """
        with self._translating:
            await self._setup(self._name(name), settings or QueueSettings())

    async def delete_queue(self, name: str | QueueName) -> None:
        """Delete a topic (with its subscriptions), a subscription or a queue; absent is fine."""
        with self._translating:
            await self._delete(self._name(name))

    async def queue_exists(self, name: str | QueueName) -> bool:
        with self._translating:
            return await self._exists(self._name(name))

    # -- sending --------------------------------------------------------------------------------

    async def push(self, event: Event) -> None:
        """Send to the topic or queue named by ``event.queue_name`` (else its event type)."""
        if not isinstance(event, Event):
            raise TypeError(f"push takes an Event, not {type(event).__name__}")
        limit, session = self.max_id_length, event.session_id
        if limit is not None and (len(event.id) > limit or (session and len(session) > limit)):
            self._check_ids(event)  # raises, naming the field
        try:
            await self._send((event,))
        except Exception as error:
            self._raise_translated(error)
            raise

    async def push_batch(self, events: Sequence[Event]) -> None:
        """Send several events, in order, in as few round trips as the backend can."""
        for event in events:
            if not isinstance(event, Event):
                raise TypeError(f"push_batch takes Events, not {type(event).__name__}")
            if self.max_id_length is not None:
                self._check_ids(event)
        if events:
            with self._translating:
                await self._send(events)

    def _check_ids(self, event: Event) -> None:
        """Refuse, before anything is sent, ids longer than the broker takes."""
        limit = self.max_id_length
        for field, value in (("id", event.id), ("session_id", event.session_id)):
            if limit is not None and value is not None and len(value) > limit:
                raise BrokerLimitError(
                    f"event {event.event_type} has a {field} of {len(value)} characters; the "
                    f"limit is {limit} (Service Bus's for message and session ids, which "
                    f"{type(self).__name__} applies too, so code that works here works there)"
                )

    def _dropped(self, event: Event, topic: str) -> None:
        """Count and log an event sent to a topic that has no subscription."""
        self.dropped += 1
        logger.warning(
            "dropped event %s %s: topic %s has no subscription", event.event_type, event.id, topic
        )

    # -- receiving ------------------------------------------------------------------------------

    async def next(
        self, name: str | QueueName, *, max_count: int = 1, wait: float | timedelta = 0
    ) -> list[Event]:
        """Lease up to ``max_count`` events, waiting up to ``wait`` for the first to arrive."""
        if type(max_count) is not int or max_count < 1:
            raise ValueError(f"max_count must be an int of at least 1, got {max_count!r}")
        waiting = wait if type(wait) is float or type(wait) is int else seconds(wait)
        if waiting < 0:
            raise ValueError(f"wait cannot be negative, got {wait!r}")
        queue = self._receivable(name)
        try:
            received = await self._receive(queue, max_count, waiting)
        except Exception as error:
            self._raise_translated(error)
            raise
        leases = self._leases
        if len(received) == 1:  # the usual case: a consumer leases one at a time
            event, handle = received[0]
            leases[id(event)] = (event, handle, queue)
            return [event]
        for event, handle in received:
            leases[id(event)] = (event, handle, queue)
        return [event for event, _ in received]

    def _receivable(self, name: str | QueueName) -> QueueName:
        """``name`` parsed, once: a subscription or a queue (a topic has no messages)."""
        queue = self._receivables.get(name)
        if queue is None:
            queue = self._name(name)
            if queue.is_topic:
                raise QueueNotFoundError(f"{queue} is a topic: use one of its subscriptions")
            self._receivables[name] = queue
        return queue

    def _name(self, name: str | QueueName) -> QueueName:
        """``name`` parsed, once, and always the same object for equal names: a backend's
        tables keyed by it then find it by identity, without comparing names."""
        parsed = self._names.get(name)
        if parsed is None:
            parsed = QueueName(name)
            parsed = self._names.setdefault(parsed, parsed)
            self._names[name] = parsed
        return parsed

    # -- settling -------------------------------------------------------------------------------

    async def complete(self, event: Event) -> None:
        """Remove a leased event for good."""
        handle = self._settled(event)
        try:
            await self._complete(handle)
        except Exception as error:
            self._raise_translated(error)
            raise

    async def abandon(self, event: Event, delay: float | timedelta | None = None) -> None:
        """Give a leased event back, visible again after ``delay``; counts as a delivery."""
        wait = seconds(delay)
        if wait < 0:
            raise ValueError(f"delay cannot be negative, got {delay!r}")
        handle = self._settled(event)
        with self._translating:
            await self._abandon(handle, wait)

    async def dead_letter(
        self,
        event: Event,
        reason: str,
        description: str | None = None,
        *,
        actor: str | None = None,
        error_type: str | None = None,
    ) -> None:
        """Move a leased event to its queue's dead-letter queue, with why and who.

        ``actor`` and ``error_type`` (the host sets them) are kept as properties of their
        own, as are the delivery count and the time: see :class:`DeadLetterInfo`.
        """
        if not reason:
            raise ValueError("dead_letter needs a reason")
        handle = self._settled(event)
        info = DeadLetterInfo.now(
            reason, description, event.delivery_count, actor=actor, error_type=error_type
        )
        with self._translating:
            await self._dead_letter(handle, info)

    async def renew_lease(self, event: Event) -> None:
        """Extend a leased event's lock by the queue's lease duration."""
        handle = self._held(event)
        with self._translating:
            await self._renew(handle)

    def _settled(self, event: Event) -> Any:
        """The handle of ``event``, forgotten: it is being settled."""
        held = self._leases.pop(id(event), None)
        if held is None:
            raise self._not_leased(event)
        handle = held[1]
        if self._lease_lost(handle):
            raise self._lost(event, held[2])
        return handle

    def _held(self, event: Event) -> Any:
        """The handle of ``event``, kept (a renewal); forgotten if the lease is lost."""
        held = self._leases.get(id(event))
        if held is None:
            raise self._not_leased(event)
        handle = held[1]
        if self._lease_lost(handle):
            del self._leases[id(event)]
            raise self._lost(event, held[2])
        return handle

    @staticmethod
    def _not_leased(event: Event) -> LeaseLostError:
        # The map keeps each leased event alive, so no other object can have its id.
        return LeaseLostError(
            f"event {event.event_type} {event.id} is not leased here: it was settled "
            "already, or is not the object next() returned"
        )

    @staticmethod
    def _lost(event: Event, queue: QueueName) -> LeaseLostError:
        return LeaseLostError(
            f"the lease on event {event.event_type} {event.id} in {queue} was lost (it "
            "expired, or its connection closed); the broker delivers it again"
        )

    def _lease_lost(self, handle: Any) -> bool:
        """Whether the broker has taken the message back already (expired lock, dead channel).

        Asked once per settle or renewal; a lost handle is forgotten.
        """
        return False

    # -- dead letters ---------------------------------------------------------------------------

    async def dead_letters(self, name: str | QueueName) -> list[Event]:
        """Peek (non-destructively) at the dead-lettered events of a subscription or queue.

        Each carries its :class:`DeadLetterInfo` (read it with ``DeadLetterInfo.of(event)``)
        in its ``dead_letter_*`` properties, and its deliveries in ``delivery_count``.
        """
        with self._translating:
            return await self._peek_dead_letters(self._receivable(name))

    async def replay_dead_letters(
        self,
        name: str | QueueName,
        *,
        ids: Collection[str] | None = None,
        reason: str | None = None,
    ) -> int:
        """Move dead letters back into the subscription or queue ``name``; returns how many.

        Selected by ``ids``, by ``reason`` (text the dead-letter reason contains), both, or
        neither (all). Only ``name`` gets them again, never the other subscriptions of its
        topic. Each keeps its event id, loses its dead-letter metadata, gains ``replayed_at``
        and ``replay_count``, and starts afresh at delivery 1. Dead letters not selected stay,
        in order.
        """
        queue = self._receivable(name)
        selector = dead_letter_selector(ids, reason)
        with self._translating:
            await self._prepare_replay(queue)

            async def replay(event: Event) -> None:
                await self._requeue(queue, replayed(event))

            return await self._sweep_dead_letters(queue, selector, replay)

    async def purge_dead_letters(
        self,
        name: str | QueueName,
        *,
        ids: Collection[str] | None = None,
        reason: str | None = None,
    ) -> int:
        """Delete dead letters of ``name`` for good (selected as for replay); returns how many."""
        queue = self._receivable(name)
        with self._translating:
            return await self._sweep_dead_letters(queue, dead_letter_selector(ids, reason), None)

    async def _prepare_replay(self, name: QueueName) -> None:
        """Refuse (``ReplayRefusedError``) a replay into ``name`` that would reach others."""
        return None

    # -- inspection -----------------------------------------------------------------------------

    async def depth(self, name: str | QueueName) -> QueueDepth:
        """How many messages the subscription or queue ``name`` holds, by state."""
        with self._translating:
            return await self._depth(self._receivable(name))

    # -- lifecycle ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop receiving and release the broker connection; unsettled leases go back."""
        try:
            with self._translating:
                await self._close()
        finally:
            self._leases.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _raise_translated(self, error: Exception) -> None:
        """Raise the beehive error for a client library's ``error``, if it has one."""
        if not isinstance(error, BeeHiveError):
            translated = self._translate(error)
            if translated is not None:
                raise translated from error

    def _translate(self, error: Exception) -> BeeHiveError | None:
        """The beehive error for a broker library's ``error`` (None: let it through as is)."""
        return None

    # -- the hooks a backend implements ---------------------------------------------------------

    @abstractmethod
    async def _setup(self, name: QueueName, settings: QueueSettings) -> None: ...

    @abstractmethod
    async def _delete(self, name: QueueName) -> None: ...

    @abstractmethod
    async def _exists(self, name: QueueName) -> bool: ...

    @abstractmethod
    async def _send(self, events: Sequence[Event]) -> None:
        """Send each event to its :func:`destination` (``no_destination`` when missing)."""

    @abstractmethod
    async def _receive(
        self, name: QueueName, max_count: int, wait: float
    ) -> Sequence[tuple[Event, Any]]:
        """Lease up to ``max_count`` messages: each a new event object and the handle that
        settles it; its ``delivery_count`` counts this delivery."""

    @abstractmethod
    async def _complete(self, handle: Any) -> None: ...

    @abstractmethod
    async def _abandon(self, handle: Any, delay: float) -> None: ...

    @abstractmethod
    async def _dead_letter(self, handle: Any, info: DeadLetterInfo) -> None: ...

    @abstractmethod
    async def _renew(self, handle: Any) -> None: ...

    @abstractmethod
    async def _peek_dead_letters(self, name: QueueName) -> list[Event]:
        """The dead letters of ``name`` in order, each stamped with its ``DeadLetterInfo``."""

    @abstractmethod
    async def _sweep_dead_letters(
        self, name: QueueName, selector: Selector, replay: Replay | None
    ) -> int:
        """Remove the dead letters ``selector`` chooses, after ``replay`` when given; keep the
        others in order; return how many were removed. An unreadable one is never replayed."""

    @abstractmethod
    async def _requeue(self, name: QueueName, event: Event) -> None:
        """Send ``event`` into the subscription or queue ``name`` alone."""

    @abstractmethod
    async def _depth(self, name: QueueName) -> QueueDepth: ...

    @abstractmethod
    async def _close(self) -> None: ...


def dead_letter_selector(ids: Collection[str] | None, reason: str | None) -> Selector:
    """Chooses dead letters by ``ids``, by ``reason`` (text their reason contains), or both."""
    if isinstance(ids, str):
        raise TypeError("ids is a collection of event ids, not one str")
    chosen = None if ids is None else frozenset(ids)

    def selected(event_id: str | None, dead_reason: str) -> bool:
        if chosen is not None and event_id not in chosen:
            return False
        return reason is None or reason in dead_reason

    return selected


class _Translating:
    """Turns a broker library's exception into the operator's beehive error, on the way out.

    (The per-message methods do the same inline: a ``try`` costs nothing until it raises.)
    """

    __slots__ = ("_operator",)

    def __init__(self, operator: QueueOperator) -> None:
        self._operator = operator

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(error, Exception):
            self._operator._raise_translated(error)


class IdleAware(ABC):
    """An operator that knows when no message is left: none ready, scheduled or leased.

    The in-memory broker is; a shared broker is not (other processes may publish at any
    time). Test helpers and local runs wait for it; check with ``isinstance``.
    """

    @abstractmethod
    async def wait_idle(self, timeout: float | timedelta | None = None) -> None:
        """Wait until idle; raises TimeoutError when that does not happen within ``timeout``."""

    @property
    @abstractmethod
    def is_idle(self) -> bool: ...
