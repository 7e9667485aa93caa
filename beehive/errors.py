"""The one exception hierarchy: everything beehive raises on purpose derives from BeeHiveError."""

from __future__ import annotations

from datetime import timedelta


class BeeHiveError(Exception):
    """Base class of every error beehive raises on purpose."""


class BadEventBody(BeeHiveError):
    """An event's body does not validate as the model an actor asked for.

    The host dead-letters the message at once: retrying cannot fix a malformed body.
    """


class EventVersionError(BadEventBody):
    """An event's version cannot be read here: newer than its model, or older with no upcaster
    to bring it up (see :mod:`beehive.versions`). Dead-lettered at once, never mis-read."""


class DeadLetter(BeeHiveError):
    """Raised by an actor to dead-letter the current event at once, with this message as reason."""


class Retry(BeeHiveError):
    """Raised by an actor to ask for a later retry without logging an error.

    ``delay`` overrides the host's backoff for this attempt; the attempt still counts towards
    ``max_deliveries``.
    """

    def __init__(self, reason: str = "retry requested", *, delay: float | timedelta | None = None):
        super().__init__(reason)
        self.delay = delay.total_seconds() if isinstance(delay, timedelta) else delay


class ClaimHeldError(Retry):
    """Another copy of the event holds its exclusive claim (see :mod:`beehive.claims`).

    A :class:`Retry`: the host abandons the message, which comes back after ``delay``.
    """


class EventTooLargeError(BeeHiveError, ValueError):
    """An event is larger than the broker accepts and no claim-check store was configured."""


class BrokerLimitError(BeeHiveError, ValueError):
    """Something the broker would refuse: a name, a setting or an id beyond its limits.

    Raised before anything is sent or created; the message names the broker's rule.
    """


class BrokerError(BeeHiveError):
    """A broker failed or refused an operation; the message says what the broker said.

    Queue operators raise this (or a subclass) in place of their client library's exceptions,
    which stay attached as ``__cause__``.
    """


class BrokerUnavailableError(BrokerError, ConnectionError):
    """The broker cannot be reached, or refuses the credentials (a login or a token).

    Also a ``ConnectionError``. The message names the broker, never a password or key.
    """


class QueueConflictError(BrokerError):
    """The broker's entities conflict with what was asked (a plain queue named like a topic)."""


class QueueNotFoundError(BeeHiveError):
    """A queue, topic or subscription that does not exist was used."""


class ReplayRefusedError(BeeHiveError):
    """Dead letters cannot be replayed safely: they would reach more than their own queue."""


class LeaseLostError(BeeHiveError):
    """A message was settled after its lease (lock) had expired; another consumer may have it."""


class ActorConfigurationError(BeeHiveError):
    """An actor cannot be built or run as configured (for example an unresolvable dependency)."""


class NotFoundError(BeeHiveError):
    """A store has no entity, item, blob or key by that name."""


class KeyAlreadyExistsError(BeeHiveError):
    """An insert found an entity with the same id or key already there."""


class ConcurrencyConflictError(BeeHiveError):
    """A conditional write lost: the stored version is not the one the caller read."""


class CounterUnderflowError(BeeHiveError):
    """An increment guarded with ``allow_negative=False`` would have left the counter below 0.

    The counter keeps its value.
    """

    def __init__(self, counter_name: str, id: str, value: int, by: int) -> None:
        super().__init__(
            f"counter {counter_name!r} of {id!r} is {value}; adding {by} would make it "
            f"{value + by}, below zero, so it was left unchanged"
        )
        self.counter_name = counter_name
        self.id = id
        self.value = value
        self.by = by


class ValueTooLargeError(BeeHiveError, ValueError):
    """A value is larger than the store can hold in one entity; the message names both sizes."""


class LockNotAcquiredError(BeeHiveError):
    """A lock could not be acquired before the wait ran out."""


class LockLostError(BeeHiveError):
    """A lock held was lost (it expired, or another holder took it): the work it protected
    may have overlapped another holder's."""


class UnexpectedDeadLetterError(BeeHiveError):
    """A test harness saw the broker dead-letter a message that no actor asked to dead-letter
    (a missing session id, too many deliveries)."""


class UndeclaredEventError(BeeHiveError):
    """An actor returned an event whose type it does not declare in ``emits``."""


class SimulationFailed(BeeHiveError, AssertionError):
    """A simulation found a seed that breaks an invariant; the message is its report (the seed,
    the invariant, the fewest faults that break it, the journeys, how to replay it)."""
