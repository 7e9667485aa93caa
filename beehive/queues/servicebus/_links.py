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
    OperationTimeoutError,
    ServiceBusCommunicationError,
    ServiceBusConnectionError,
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
