"""The receivers of the Service Bus operator: a pool per subscription or queue.

The SDK's clients are not coroutine-safe, so a receiver (a :class:`Link`) serves one caller at a
time: a ``next`` call checks one out, the messages it leased keep it checked out until they are
settled, and then it goes back to its queue's idle pool. On a session entity each link holds one
session and leases one message at a time, so at most one message per session is in flight; a
link whose session has nothing more within :data:`SESSION_POLL` is closed, which releases the
session to whichever consumer asks next.

A queue has at most twice its prefetch in links (each one AMQP connection: the async SDK shares
none), and :data:`DEFAULT_LINKS` without one: a message whose retry waits out a delay keeps its
lock, so its link, until due, and a burst of failures would otherwise open a connection each. A
caller that finds every link of its queue checked out waits for one to come back, within its
wait.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from typing import Any, Final

from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusReceivedMessage
from azure.servicebus.aio import ServiceBusClient, ServiceBusReceiver
from azure.servicebus.exceptions import (
    MessagingEntityNotFoundError,
    OperationTimeoutError,
    ServiceBusError,
)

from beehive.errors import QueueNotFoundError
from beehive.names import QueueName
from beehive.queues.servicebus._links import LOCK_LOST, TRANSIENT, Link, Retrier, describe, logger
from beehive.queues.servicebus._topology import Topology

SESSION_POLL: Final = 0.5
"""Seconds a session link waits for its session's next message before letting it go."""
MIN_WAIT: Final = 0.05
"""The shortest receive wait (the SDK refuses zero)."""
_OPENING_FAULTS: Final = tuple(t for t in TRANSIENT if t is not OperationTimeoutError)
DEFAULT_LINKS: Final = 16
"""The most links of a queue whose settings give no prefetch."""

Received = list[tuple[Link, list[ServiceBusReceivedMessage]]]


class Receivers:
    """Opens, lends, takes back and closes the receivers of every subscription and queue."""

    def __init__(
        self, client: ServiceBusClient, topology: Topology, retry: Retrier, prefetch: int
    ) -> None:
        self._client = client
        self._topology = topology
        self._retry = retry
        self._prefetch = prefetch
        self._idle: defaultdict[QueueName, deque[Link]] = defaultdict(deque)
        self._links: set[Link] = set()
        self._open: defaultdict[QueueName, int] = defaultdict(int)
        self._returned: defaultdict[QueueName, asyncio.Condition] = defaultdict(asyncio.Condition)

    def limit(self, name: QueueName) -> int:
        """The most links ``name`` may have open."""
        prefetch = self._prefetch_of(name)
        return 2 * prefetch if prefetch else DEFAULT_LINKS

    async def receive(self, name: QueueName, max_count: int, wait: float) -> Received:
        """Messages leased from ``name``, each with the link that must settle it."""
        if await self._topology.requires_session(name):
            return await self._receive_in_sessions(name, max_count, wait)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        link = await self._checkout(name, deadline)
        if link is None:
            return []
        wait = max(deadline - loop.time(), 0.0)
        try:
            messages = await self._receive(link, max_count, max(wait, MIN_WAIT))
        except BaseException:
            await self.discard(link)
            raise
        if not messages:
            await self._give_back(link)
            return []
        link.held += len(messages)
        return [(link, messages)]

    async def _checkout(self, name: QueueName, deadline: float) -> Link | None:
        """An idle link of ``name``, or a new one within its limit; None if none came back
        before ``deadline`` (loop time)."""
        returned = self._returned[name]
        async with returned:
            while not self._idle[name] and self._open[name] >= self.limit(name):
                try:
                    async with asyncio.timeout_at(deadline):
                        await returned.wait()
                except TimeoutError:
                    return None
            if self._idle[name]:
                return self._idle[name].popleft()
            self._open[name] += 1  # counted now: another caller may not take its place
        try:
            return await self._open_link(name)
        except BaseException:
            await self._closed(name)
            raise

    async def _give_back(self, link: Link) -> None:
        returned = self._returned[link.name]
        async with returned:
            self._idle[link.name].append(link)
            returned.notify()

    async def _closed(self, name: QueueName) -> None:
        returned = self._returned[name]
        async with returned:
            self._open[name] -= 1
            returned.notify()

    async def _receive_in_sessions(self, name: QueueName, max_count: int, wait: float) -> Received:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        received: Received = []
        accepted = False
        while len(received) < max_count:
            link = self._idle[name].popleft() if self._idle[name] else None
            if link is None:
                if received or (accepted and loop.time() >= deadline):
                    break
                if self._open[name] >= self.limit(name):
                    break  # every session link is out; their sessions come back to them
                link = await self._accept_session(name, max(deadline - loop.time(), SESSION_POLL))
                accepted = True
                if link is None:
                    break
            try:
                messages = await self._receive(link, 1, SESSION_POLL)
            except LOCK_LOST:
                messages = []
            except BaseException:
                await self.discard(link)
                raise
            if messages:
                link.held += 1
                received.append((link, messages))
            else:
                await self.discard(link)  # drained or lost: let the session go
        return received

    async def _open_link(self, name: QueueName) -> Link:
        receiver = self.receiver(name, prefetch_count=self._prefetch_of(name))
        await self.open(name, receiver)
        return self._track(Link(name, receiver, session=False))

    async def _accept_session(self, name: QueueName, wait: float) -> Link | None:
        receiver = self.receiver(
            name,
            session_id=NEXT_AVAILABLE_SESSION,
            max_wait_time=wait,
            prefetch_count=self._prefetch_of(name),
        )
        self._open[name] += 1
        try:
            await self.open(name, receiver)
        except BaseException as error:
            self._open[name] -= 1
            if isinstance(error, OperationTimeoutError):
                return None  # how the SDK says that no session was free in time
            raise
        return self._track(Link(name, receiver, session=True))

    def _prefetch_of(self, name: QueueName) -> int:
        """The queue's own ``prefetch`` from its settings, else the operator's."""
        return self._topology.prefetch.get(name) or self._prefetch

    def receiver(self, name: QueueName, **options: Any) -> ServiceBusReceiver:
        """A new, unopened SDK receiver on the subscription or queue ``name``."""
        if name.subscription is None:
            return self._client.get_queue_receiver(name.topic, **options)
        return self._client.get_subscription_receiver(name.topic, name.subscription, **options)

    async def open(self, name: QueueName, receiver: ServiceBusReceiver) -> None:
        """Open ``receiver``; a missing entity is ``QueueNotFoundError``; closed on failure."""
        try:
            await self._retry(f"opening a receiver on {name}", receiver.__aenter__, _OPENING_FAULTS)
        except MessagingEntityNotFoundError:
            await receiver.close()
            self._topology.forget(name)
            raise QueueNotFoundError(
                f"no subscription or queue named {name}; call setup_queue"
            ) from None
        except BaseException:
            await receiver.close()
            raise

    def _track(self, link: Link) -> Link:
        self._links.add(link)
        return link

    async def _receive(
        self, link: Link, count: int, wait: float
    ) -> list[ServiceBusReceivedMessage]:
        return await self._retry(
            f"receiving from {link.name}",
            lambda: link.receiver.receive_messages(max_message_count=count, max_wait_time=wait),
        )

    async def release(self, link: Link) -> None:
        """One message of ``link`` is settled (or lost); idle again once all of them are."""
        link.held -= 1
        if link.held == 0:
            if link.broken:
                await self.discard(link)
            else:
                await self._give_back(link)

    async def discard(self, link: Link) -> None:
        if link in self._links:
            self._links.discard(link)
            await self._closed(link.name)
        try:
            await link.receiver.close()
        except ServiceBusError as error:
            logger.warning("closing a receiver on %s failed: %s", link.name, describe(error))

    async def forget(self, name: QueueName) -> None:
        """Close the idle links of ``name`` (of every subscription, when ``name`` is a topic)."""
        for queue in list(self._idle):
            if queue == name or (not name.is_subscription and queue.topic == name.topic):
                while self._idle[queue]:
                    await self.discard(self._idle[queue].popleft())

    async def close(self) -> None:
        for link in list(self._links):
            await self.discard(link)
        self._idle.clear()
        self._open.clear()
