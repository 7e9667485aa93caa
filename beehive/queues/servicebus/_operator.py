"""The Service Bus operator: ``ServiceBusQueueOperator`` (see the package docstring)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Self

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError, ServiceRequestError
from azure.servicebus import ServiceBusReceivedMessage, ServiceBusSubQueue
from azure.servicebus.aio import ServiceBusClient, ServiceBusReceiver
from azure.servicebus.aio.management import ServiceBusAdministrationClient
from azure.servicebus.exceptions import (
    ServiceBusAuthenticationError,
    ServiceBusAuthorizationError,
    ServiceBusError,
)
from azure.servicebus.management import QueueRuntimeProperties

from beehive.backoff import Backoff
from beehive.errors import (
    BeeHiveError,
    BrokerError,
    BrokerUnavailableError,
    LeaseLostError,
)
from beehive.events import Event
from beehive.names import QueueName
from beehive.queues.base import (
    DeadLetterInfo,
    QueueDepth,
    QueueOperator,
    QueueSettings,
    Replay,
    Selector,
    seconds,
)
from beehive.queues.servicebus import _mapping as mapping
from beehive.queues.servicebus._links import (
    KEEPS_LINK,
    LOCK_LOST,
    SDK_RETRIES,
    TRANSIENT,
    Lease,
    Retrier,
    describe,
    kills_link,
    logger,
)
from beehive.queues.servicebus._mapping import Unreadable
from beehive.queues.servicebus._publisher import Publisher
from beehive.queues.servicebus._receivers import Receivers
from beehive.queues.servicebus._topology import Topology
from beehive.stores.base import KeyValueStore

_PEEK_PAGE = 250
_SWEEP_PAGE = 100
_SWEEP_WAIT = 1.0
"""Seconds a dead-letter sweep waits for more before it takes the sub-queue as drained."""
_SWEEP_BUDGET = 600.0
"""Seconds a dead-letter sweep takes new messages for, at most."""
_RENEW_MARGIN = 10.0
"""A kept dead letter's lock is renewed when it runs out within this many seconds."""
_UNAVAILABLE = (
    *TRANSIENT,
    ServiceBusAuthenticationError,
    ServiceBusAuthorizationError,
    ClientAuthenticationError,
    ServiceRequestError,
)
"""Errors that mean the namespace cannot be reached or refuses the credential."""


class ServiceBusQueueOperator(QueueOperator):
    """Service Bus through the SDK's async clients, which this operator wraps and closes.

    ``claim_check``: where bodies too large for one message go (the claim-check pattern).
    ``prefetch``: messages each receiver fetches ahead (locked while they wait in its buffer,
    so keep it well below what a consumer finishes within the lock duration).
    ``retry_budget``: seconds during which transient faults are retried with ``backoff``
    before the caller sees them. This is the only retry layer: the factories build the SDK
    client without retries of its own; build a ``client`` you pass here the same way
    (``ServiceBusClient(..., retry_total=0)``).
    ``replay_filters``: before a replay into a subscription, every subscription of its topic
    must filter replays meant for others; "check" reads their rules (Manage); "trust" does too
    when it may, and otherwise relies on the deployment having set them (``infra/bicep``
    does), so replay works with Data Sender + Data Receiver only.
    ``compatibility``: "csharp" to share the namespace with C# BeeHive, both sides reading
    each other's events (see ``docs/how-to/migrate-from-csharp.md``).
    """

    max_id_length = 128  # the SDK's MESSAGE_PROPERTY_MAX_LENGTH for message and session ids

    def __init__(
        self,
        client: ServiceBusClient,
        admin: ServiceBusAdministrationClient,
        *,
        claim_check: KeyValueStore | None = None,
        prefetch: int = 0,
        retry_budget: float | timedelta = 30.0,
        backoff: Backoff | None = None,
        credential: AsyncTokenCredential | None = None,
        replay_filters: Literal["check", "trust"] = "check",
        compatibility: Literal["beehive", "csharp"] = "beehive",
    ) -> None:
        super().__init__()
        if compatibility not in ("beehive", "csharp"):
            raise ValueError(f"compatibility is 'beehive' or 'csharp', not {compatibility!r}")
        self._csharp = compatibility == "csharp"
        if replay_filters not in ("check", "trust"):
            raise ValueError(f"replay_filters is 'check' or 'trust', not {replay_filters!r}")
        if prefetch < 0:
            raise ValueError(f"prefetch cannot be negative, got {prefetch}")
        self._client = client
        self._claim_check = claim_check
        self._retry = Retrier(seconds(retry_budget), backoff or Backoff(0.5, 2.0, 8.0))
        self._topology = Topology(
            client, admin, self._retry, trust_filters=replay_filters == "trust"
        )
        self._credential = credential
        self._publisher = Publisher(self._topology, self._retry, claim_check, csharp=self._csharp)
        self._receivers = Receivers(client, self._topology, self._retry, prefetch)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()

    @classmethod
    def from_connection_string(cls, connection_string: str, **options: Any) -> Self:
        """An operator for the namespace a connection string names (it needs Manage to set up)."""
        try:
            client = ServiceBusClient.from_connection_string(
                connection_string, retry_total=SDK_RETRIES
            )
            admin = ServiceBusAdministrationClient.from_connection_string(connection_string)
        except (ValueError, TypeError, KeyError):
            # The SDK's message may quote the string, key included.
            raise ValueError(
                "malformed Service Bus connection string (not shown: it holds a key); expected "
                "Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=...;"
                "SharedAccessKey=..."
            ) from None
        return cls(client, admin, **options)

    @classmethod
    def from_namespace(
        cls,
        fully_qualified_namespace: str,
        credential: AsyncTokenCredential | None = None,
        **options: Any,
    ) -> Self:
        """An operator for ``<name>.servicebus.windows.net`` with a token credential.

        Without ``credential``, ``azure.identity.aio.DefaultAzureCredential`` (closed with the
        operator).
        """
        owned = None
        if credential is None:
            from azure.identity.aio import DefaultAzureCredential

            credential = owned = DefaultAzureCredential()
        client = ServiceBusClient(fully_qualified_namespace, credential, retry_total=SDK_RETRIES)
        admin = ServiceBusAdministrationClient(fully_qualified_namespace, credential)
        return cls(client, admin, credential=owned, **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(namespace={self._client.fully_qualified_namespace!r})"

    @property
    def claim_check(self) -> KeyValueStore | None:
        """Where bodies too large for one message go, if anywhere."""
        return self._claim_check

    @property
    def csharp(self) -> bool:
        """Whether it reads and writes events as C# BeeHive does (``compatibility="csharp"``)."""
        return self._csharp

    def _translate(self, error: Exception) -> BeeHiveError | None:
        where = f"Service Bus namespace {self._client.fully_qualified_namespace}"
        if isinstance(error, _UNAVAILABLE):
            return BrokerUnavailableError(f"{where} is unavailable: {describe(error)}")
        if isinstance(error, ServiceBusError | AzureError):
            return BrokerError(f"{where} refused: {describe(error)}")
        return None

    # -- topology -------------------------------------------------------------------------------

    async def _setup(self, name: QueueName, settings: QueueSettings) -> None:
        await self._topology.setup(name, settings)

    async def _delete(self, name: QueueName) -> None:
        await self._topology.delete(name)
        await self._receivers.forget(name)
        if not name.is_subscription:
            await self._publisher.forget(name.topic)

    async def _exists(self, name: QueueName) -> bool:
        return await self._topology.exists(name)

    # -- sending --------------------------------------------------------------------------------

    async def _send(self, events: Sequence[Event]) -> None:
        """Send in as few batches as the size limit allows, one destination at a time."""
        await self._publisher.publish(events)

    # -- receiving ------------------------------------------------------------------------------

    async def _receive(
        self, name: QueueName, max_count: int, wait: float
    ) -> list[tuple[Event, Lease]]:
        leased: list[tuple[Event, Lease]] = []
        for link, messages in await self._receivers.receive(name, max_count, wait):
            for message in messages:
                lease = Lease(link, message)
                try:
                    event = await self._to_event(message, name)
                except Unreadable as problem:
                    # Nothing can process it: keep it, with the reason, rather than fail
                    # every time.
                    await self._bury(lease, problem)
                    continue
                # The SDK hands over AMQP's count of *earlier* deliveries; ours counts this one.
                count = (message.delivery_count or 0) + 1
                leased.append((event.evolve({"delivery_count": count}), lease))
        return leased

    async def _bury(self, lease: Lease, problem: Unreadable) -> None:
        message, receiver = lease.message, lease.link.receiver
        why = DeadLetterInfo.now(
            problem.reason, problem.description, (message.delivery_count or 0) + 1
        )
        await self._settle(
            lease,
            f"dead-lettering unreadable message {message.message_id} in {lease.link.name}",
            lambda: receiver.dead_letter_message(message, **mapping.dead_letter_fields(why)),
        )

    async def _to_event(self, message: ServiceBusReceivedMessage, source: QueueName) -> Event:
        return await mapping.read_event(
            message,
            mapping.body_of(message),
            self._claim_check,
            source=source,
            csharp=self._csharp,
        )

    # -- settling -------------------------------------------------------------------------------

    def _lease_lost(self, handle: Lease) -> bool:
        return handle.lost

    async def _settle(self, lease: Lease, what: str, call: Callable[[], Awaitable[None]]) -> None:
        """Settle once: a lost lock or link becomes ``LeaseLostError``; the link is freed."""
        try:
            await self._on_link(lease, what, call)
        finally:
            await self._receivers.release(lease.link)

    async def _on_link(self, lease: Lease, what: str, call: Callable[[], Awaitable[None]]) -> None:
        """Run ``call`` on the lease's link, retrying only faults after which the link lives.

        A link the SDK closed is replaced, never reused: its messages come back when their
        locks run out (with the delivery counted), so they are lost leases here.
        """
        link = lease.link
        if link.dead:
            raise LeaseLostError(f"{what}: the link that received it is gone")
        try:
            async with link.lock:
                await self._retry(what, call, KEEPS_LINK)
        except LOCK_LOST as error:
            link.broken = link.broken or link.session
            raise LeaseLostError(f"{what}: the lock was lost ({describe(error)})") from None
        except (ValueError, ServiceBusError) as error:
            if not kills_link(error):
                raise
            link.dead = link.broken = True
            raise LeaseLostError(
                f"{what}: the link that received it went down ({describe(error)}); the message "
                "comes back when its lock runs out"
            ) from None

    async def _complete(self, handle: Lease) -> None:
        await self._settle(
            handle,
            _doing("completing", handle),
            lambda: handle.link.receiver.complete_message(handle.message),
        )

    async def _abandon(self, handle: Lease, delay: float) -> None:
        if delay <= 0:
            await self._settle(
                handle,
                _doing("abandoning", handle),
                lambda: handle.link.receiver.abandon_message(handle.message),
            )
            return
        task = asyncio.create_task(self._hold(handle, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _hold(self, lease: Lease, delay: float) -> None:
        """Keep the lock for ``delay`` seconds, then abandon (at once if the operator closes)."""
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        try:
            while (left := due - loop.time()) > 0 and not self._closing.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._closing.wait(), min(left, _renewal_interval(lease))
                    )
                if due - loop.time() > 0 and not self._closing.is_set():
                    await self._on_link(lease, _doing("holding", lease), lambda: _renew(lease))
        except Exception as error:
            logger.warning("%s: %s", _doing("holding", lease), describe(error))
            lease.link.broken = True
            await self._receivers.release(lease.link)
            return
        # A session link lets its session go, so that a consumer already waiting for a free
        # session gets it (the abandoned message is still the session's first).
        lease.link.broken = lease.link.session
        try:
            await self._settle(
                lease,
                _doing("abandoning", lease),
                lambda: lease.link.receiver.abandon_message(lease.message),
            )
        except (LeaseLostError, ServiceBusError) as error:
            logger.warning("%s", error)

    async def _dead_letter(self, handle: Lease, info: DeadLetterInfo) -> None:
        await self._settle(
            handle,
            _doing("dead-lettering", handle),
            lambda: handle.link.receiver.dead_letter_message(
                handle.message, **mapping.dead_letter_fields(info)
            ),
        )

    async def _renew(self, handle: Lease) -> None:
        try:
            await self._on_link(handle, _doing("renewing", handle), lambda: _renew(handle))
        except LeaseLostError:
            handle.lost = True
            await self._receivers.release(handle.link)
            raise

    # -- dead letters ---------------------------------------------------------------------------

    async def _peek_dead_letters(self, name: QueueName) -> list[Event]:
        receiver = self._receivers.receiver(name, sub_queue=ServiceBusSubQueue.DEAD_LETTER)
        await self._receivers.open(name, receiver)
        events: list[Event] = []
        try:
            # A page may be short with more to come (a peek returns what one read of the
            # store gives), so only an empty page ends the listing.
            page = await self._peek(name, receiver, 0)
            while page:
                events += [await self._peeked(message, name) for message in page]
                page = await self._peek(name, receiver, (page[-1].sequence_number or 0) + 1)
        finally:
            await receiver.close()
        return events

    async def _peek(
        self, name: QueueName, receiver: ServiceBusReceiver, after: int
    ) -> list[ServiceBusReceivedMessage]:
        return await self._retry(
            f"peeking at the dead letters of {name}",
            lambda: receiver.peek_messages(_PEEK_PAGE, sequence_number=after),
        )

    async def _peeked(self, message: ServiceBusReceivedMessage, source: QueueName) -> Event:
        """A dead letter as an event, its deliveries counted by its metadata."""
        try:
            return await self._to_event(message, source)
        except Unreadable:  # still listed, with its reason
            return mapping.to_event(message, body="", source=source, lenient=True)

    async def _prepare_replay(self, name: QueueName) -> None:
        if name.subscription is not None:
            await self._topology.require_replay_filters(name.topic)

    async def _requeue(self, name: QueueName, event: Event) -> None:
        """Into a queue directly; into a subscription through its topic, for it alone."""
        again = event.evolve({"queue_name": name.topic})
        await self._publisher.publish([again], replay_to=name.subscription)

    async def _sweep_dead_letters(
        self, name: QueueName, selector: Selector, replay: Replay | None
    ) -> int:
        """Lease the dead letters of ``name``, complete the selected ones (after ``replay``),
        and abandon the others back once the sub-queue is drained.

        The others stay locked until then, so they are renewed; one whose lock ran out anyway
        comes back under the same sequence number and replaces its stale copy, never adding
        to what is kept. The sweep takes new messages for :data:`_SWEEP_BUDGET` seconds at
        most, so it ends even while dead letters keep arriving.
        """
        receiver = self._receivers.receiver(name, sub_queue=ServiceBusSubQueue.DEAD_LETTER)
        await self._receivers.open(name, receiver)
        kept: dict[int, ServiceBusReceivedMessage] = {}  # by sequence number
        done = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _SWEEP_BUDGET
        try:
            while True:
                if loop.time() >= deadline:
                    logger.warning(
                        "the sweep of the dead letters of %s stopped after %.0fs; run it again "
                        "for the rest",
                        name,
                        _SWEEP_BUDGET,
                    )
                    break
                await _keep_locked(receiver, kept)
                page = await self._retry(
                    f"receiving the dead letters of {name}",
                    lambda: receiver.receive_messages(_SWEEP_PAGE, max_wait_time=_SWEEP_WAIT),
                )
                if not page:
                    break
                for message in page:
                    number = message.sequence_number or 0
                    if number in kept:
                        kept[number] = message  # its lock ran out: this is the live copy
                    elif await self._swept(name, receiver, message, selector, replay):
                        done += 1
                    else:
                        kept[number] = message
        finally:
            for message in kept.values():
                try:
                    await receiver.abandon_message(message)
                except (*LOCK_LOST, ServiceBusError) as error:  # its lock runs out anyway
                    logger.warning("giving back a dead letter of %s: %s", name, describe(error))
            await receiver.close()
        return done

    async def _swept(
        self,
        name: QueueName,
        receiver: ServiceBusReceiver,
        message: ServiceBusReceivedMessage,
        selector: Selector,
        replay: Replay | None,
    ) -> bool:
        """Replay (if asked) and remove ``message`` if selected; False if it stays."""
        event = await self._peeked(message, name)
        if not selector(event.id, DeadLetterInfo.of(event).reason):
            return False
        if replay is not None:
            try:
                await replay(await self._to_event(message, name))
            except Unreadable as problem:
                logger.warning("cannot replay dead letter %s: %s", event.id, problem)
                return False
        await self._retry(
            f"removing dead letter {event.id} of {name}",
            lambda: receiver.complete_message(message),
        )
        return True

    # -- inspection -----------------------------------------------------------------------------

    async def _depth(self, name: QueueName) -> QueueDepth:
        """The entity's runtime properties (Manage right). Service Bus counts no locked
        messages, and a subscription's scheduled ones are counted by its topic."""
        counts = await self._topology.runtime(name)
        scheduled = (
            counts.scheduled_message_count if isinstance(counts, QueueRuntimeProperties) else None
        )
        return QueueDepth(
            active=counts.active_message_count or 0,
            scheduled=scheduled,
            leased=None,
            dead_lettered=counts.dead_letter_message_count or 0,
        )

    # -- closing --------------------------------------------------------------------------------

    async def _close(self) -> None:
        """Give back held messages, close every receiver and sender, then the clients."""
        self._closing.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._receivers.close()
        await self._publisher.close()
        await self._topology.close()
        await self._client.close()
        if self._credential is not None:
            await self._credential.close()


async def _keep_locked(
    receiver: ServiceBusReceiver, kept: dict[int, ServiceBusReceivedMessage]
) -> None:
    """Renew the locks of ``kept`` messages that run out within :data:`_RENEW_MARGIN`."""
    soon = datetime.now(UTC) + timedelta(seconds=_RENEW_MARGIN)
    for number, message in list(kept.items()):
        if message.locked_until_utc is not None and message.locked_until_utc > soon:
            continue
        try:
            await receiver.renew_message_lock(message)
        except (*LOCK_LOST, ServiceBusError) as error:
            logger.info("dead letter %s comes back: %s", message.message_id, describe(error))
            del kept[number]  # received again when it does, and judged afresh


def _doing(action: str, lease: Lease) -> str:
    return f"{action} message {lease.message.message_id} in {lease.link.name}"


async def _renew(lease: Lease) -> None:
    receiver = lease.link.receiver
    if lease.link.session:
        await receiver.session.renew_lock()  # a session message's lock is its session's
    else:
        await receiver.renew_message_lock(lease.message)


def _renewal_interval(lease: Lease) -> float:
    receiver = lease.link.receiver
    until = receiver.session.locked_until_utc if lease.link.session else None
    until = until or (None if lease.link.session else lease.message.locked_until_utc)
    if until is None:
        return 10.0
    return max((until - datetime.now(UTC)).total_seconds() / 2, 1.0)
