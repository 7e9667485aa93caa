"""Receivers and senders as the Service Bus operator holds them, and its retry of transient faults.

The SDK's clients are not coroutine-safe, so each receiver (a *link*) serves one caller at a
time: ``next`` checks one out, the events it leased keep it checked out until they are settled,
and only then does it go back to the idle pool of its queue. A lock serialises the settlements of
several events leased in one call. Senders are one per destination, behind a lock.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

from azure.servicebus import ServiceBusReceivedMessage
from azure.servicebus.aio import ServiceBusReceiver, ServiceBusSender
from azure.servicebus.exceptions import (
    MessageAlreadySettled,
    MessageLockLostError,
    MessageNotFoundError,
    MessageSizeExceededError,
    MessagingEntityAlreadyExistsError,
    OperationTimeoutError,
    ServiceBusCommunicationError,
    ServiceBusConnectionError,
    ServiceBusError,
    ServiceBusQuotaExceededError,
    ServiceBusServerBusyError,
    SessionLockLostError,
)

from beehive.backoff import Backoff
from beehive.names import QueueName

logger = logging.getLogger("beehive.queues.servicebus")

T = TypeVar("T")

TRANSIENT: Final = (
    ServiceBusConnectionError,
    ServiceBusCommunicationError,
    ServiceBusServerBusyError,
    OperationTimeoutError,
)
"""Faults worth retrying: throttling, connection loss, a busy or slow service."""

LOCK_LOST: Final = (MessageLockLostError, SessionLockLostError, MessageAlreadySettled)

KEEPS_LINK: Final = (ServiceBusServerBusyError, OperationTimeoutError)
"""Transient faults after which the SDK keeps a receiver's link (``shutdown_handler=False`` in
``azure/servicebus/exceptions.py``), so a settlement on it can be tried again."""

SDK_RETRIES: Final = 0
"""``retry_total`` of the ``ServiceBusClient`` the operator builds: none. The SDK's own (3 by
default, backing off 0.8 * 2**n s, the accept of a session retried on its timeout too) would
stack under the operator's, whose ``retry_budget`` is then the one layer and bounds the wait."""


def kills_link(error: BaseException) -> bool:
    """Whether the SDK has closed the receiver's link over ``error``.

    It does for every ``ServiceBusError`` marked ``shutdown_handler`` and for anything that is
    not a ``ServiceBusError`` ("Handler failed"); after that, what the link received cannot be
    settled (``_check_message_alive`` raises ``ValueError``: "the handler has already been
    shutdown"), and its locks run out on the service.
    """
    if isinstance(error, MessageAlreadySettled):
        return False
    if isinstance(error, ValueError):
        return True
    return isinstance(error, ServiceBusError) and not isinstance(error, _KEEP_LINK_ERRORS)


_KEEP_LINK_ERRORS: Final = (
    *KEEPS_LINK,
    MessageLockLostError,
    MessageNotFoundError,
    MessageSizeExceededError,
    ServiceBusQuotaExceededError,
    MessagingEntityAlreadyExistsError,
)

_SECRETS: Final = re.compile(r"(SharedAccess(?:Key|Signature)[=\s]|sig=)[^;&\s]*", re.IGNORECASE)


def describe(error: BaseException) -> str:
    """An SDK error as text for logs and messages, with anything that looks like a key removed."""
    text = _SECRETS.sub(r"\1<redacted>", str(error))
    return f"{type(error).__name__}: {text}"


@dataclass(eq=False)
class Link:
    """One SDK receiver for one subscription or queue; a session receiver holds one session."""

    name: QueueName
    receiver: ServiceBusReceiver
    session: bool
    held: int = 0
    """Leased messages not settled yet; the link is checked out while any are."""
    broken: bool = False
    """Closed once its messages are settled (a session link whose session is gone)."""
    dead: bool = False
    """The SDK closed its link: none of its messages can be settled any more."""
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(eq=False, slots=True)
class Lease:
    """The operator's handle on a leased message."""

    link: Link
    message: ServiceBusReceivedMessage
    lost: bool = False
    """Its lock was lost while renewing it: the link is released already."""


@dataclass(eq=False)
class Sender:
    sender: ServiceBusSender
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    refused_from: int = 2**62
    """The smallest message size (bytes) the entity refused when sent alone."""


class Retrier:
    """Retries transient faults with backoff until ``budget`` seconds have passed."""

    def __init__(self, budget: float, backoff: Backoff) -> None:
        if budget < 0:
            raise ValueError(f"retry_budget cannot be negative, got {budget}")
        self.budget = budget
        self.backoff = backoff

    async def __call__(
        self,
        what: str,
        call: Callable[[], Awaitable[T]],
        transient: tuple[type[BaseException], ...] = TRANSIENT,
    ) -> T:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.budget
        attempt = 0
        while True:
            try:
                return await call()
            except transient as error:
                attempt += 1
                delay = self.backoff.delay(attempt)
                if loop.time() + delay > give_up:
                    logger.error(
                        "%s failed %d times within the %.0fs retry budget: %s",
                        what,
                        attempt,
                        self.budget,
                        describe(error),
                    )
                    raise
                logger.warning(
                    "%s failed (%s), retry %d in %.2fs", what, describe(error), attempt, delay
                )
                await asyncio.sleep(delay)
