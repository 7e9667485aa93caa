"""Publishing to Service Bus: size-limited batches, one per session, and the claim check.

A batch holds what the sender's link accepts for a batch (256 KB on Standard, 1 MB on Premium,
whatever one message may weigh there); events that do not fit start the next batch. An event
too large for a batch of its own is sent alone, unbatched, which Premium's large-message
entities accept up to their size limit (up to 100 MB); only when the service refuses it too
does its body go to the claim-check store, the event travelling with the blob's key instead.
Where a batch may be as large as one message (below Premium's 1 MB batch cap: Standard), a
message too large for a batch is not tried alone; a size the entity refused once is not tried
again.
"""

from __future__ import annotations

from collections.abc import Sequence

from azure.servicebus import ServiceBusMessage, ServiceBusMessageBatch
from azure.servicebus.exceptions import MessageSizeExceededError

from beehive.errors import EventTooLargeError, QueueNotFoundError
from beehive.events import Event
from beehive.queues.servicebus import _mapping as mapping
from beehive.queues.servicebus._links import Retrier, Sender, logger
from beehive.queues.servicebus._topology import Topology
from beehive.stores.base import KeyValueStore

CLAIM_CHECK_PREFIX = "beehive/claim-check/"
PREMIUM_BATCH_CAP = 1024 * 1024
"""The SDK's cap on a batch (MAX_BATCH_SIZE_PREMIUM), below what one Premium message may be."""


class Publisher:
    """One sender per destination (senders are not coroutine-safe, so each has a lock)."""

    def __init__(
        self,
        topology: Topology,
        retry: Retrier,
        claim_check: KeyValueStore | None,
        *,
        csharp: bool = False,
    ) -> None:
        self._csharp = csharp
        self._topology = topology
        self._retry = retry
        self._claim_check = claim_check
        self._senders: dict[str, Sender] = {}

    async def publish(self, events: Sequence[Event], *, replay_to: str | None = None) -> None:
        """Send ``events`` to their destinations (``replay_to``: see ``mapping.to_message``)."""
        groups: dict[str, list[Event]] = {}
        for event in events:
            groups.setdefault(event.queue_name or event.event_type, []).append(event)
        for destination, group in groups.items():
            sender = await self._sender(destination, group[0])
            async with sender.lock:
                await self._send(sender, destination, group, replay_to)

    async def _sender(self, destination: str, event: Event) -> Sender:
        sender = self._senders.get(destination)
        if sender is None:
            opened = await self._topology.open_sender(destination)
            if opened is None:
                raise QueueNotFoundError(
                    f"cannot publish event {event.event_type} {event.id}: no topic or queue "
                    f"named {destination!r}; call setup_queue first"
                )
            sender = self._senders[destination] = Sender(opened)
        return sender

    async def _send(
        self, sender: Sender, destination: str, events: list[Event], replay_to: str | None
    ) -> None:
        batch = await self._new_batch(sender, destination)
        session: str | None = None
        for event in events:
            message = mapping.to_message(event, replay_to=replay_to, csharp=self._csharp)
            if len(batch) and event.session_id == session and _added(batch, message):
                continue
            if len(batch):  # full, or (as partitioned session entities demand) another session
                await self._flush(sender, destination, batch)
                batch = await self._new_batch(sender, destination)
            if not _added(batch, message) and not await self._sent_alone(
                sender, destination, message, batch.max_size_in_bytes
            ):
                await self._add_offloaded(batch, event, message, replay_to)
            session = event.session_id
        if len(batch):
            await self._flush(sender, destination, batch)

    async def _new_batch(self, sender: Sender, destination: str) -> ServiceBusMessageBatch:
        return await self._retry(
            f"creating a batch for {destination}", sender.sender.create_message_batch
        )

    async def _flush(self, sender: Sender, destination: str, batch: ServiceBusMessageBatch) -> None:
        await self._retry(f"sending to {destination}", lambda: sender.sender.send_messages(batch))

    async def _sent_alone(
        self, sender: Sender, destination: str, message: ServiceBusMessage, batch_limit: int
    ) -> bool:
        """Send ``message`` unbatched; False if the entity refuses it for its size."""
        if batch_limit < PREMIUM_BATCH_CAP:
            return False  # one message may weigh no more than a batch there
        size = encoded_size(message)
        if size >= sender.refused_from:
            return False
        try:
            await self._retry(
                f"sending a large message to {destination}",
                lambda: sender.sender.send_messages(message),
            )
        except MessageSizeExceededError:
            sender.refused_from = min(sender.refused_from, size)
            return False
        return True

    async def _add_offloaded(
        self,
        batch: ServiceBusMessageBatch,
        event: Event,
        message: ServiceBusMessage,
        replay_to: str | None,
    ) -> None:
        """Add ``event`` to the empty ``batch`` with its body in the claim-check store."""
        size, limit = encoded_size(message), batch.max_size_in_bytes
        if self._claim_check is None:
            raise EventTooLargeError(
                f"event {event.event_type} {event.id} is {size} bytes as a Service Bus message, "
                f"over the limit of {limit} bytes; configure a claim_check store to send it"
            )
        key = CLAIM_CHECK_PREFIX + event.id
        slim = mapping.to_message(event, claim_check=key, replay_to=replay_to, csharp=self._csharp)
        if not _added(batch, slim):
            raise EventTooLargeError(
                f"event {event.event_type} {event.id} is {encoded_size(slim)} bytes even with "
                f"its body in the claim-check store, over the limit of {limit} bytes: "
                "shrink its properties"
            )
        await self._claim_check.put(key, event.body.encode(), content_type=event.content_type)
        logger.info("event %s %s (%d bytes) offloaded to %s", event.event_type, event.id, size, key)

    async def forget(self, destination: str) -> None:
        sender = self._senders.pop(destination, None)
        if sender is not None:
            await sender.sender.close()

    async def close(self) -> None:
        for destination in list(self._senders):
            await self.forget(destination)


def _added(batch: ServiceBusMessageBatch, message: ServiceBusMessage) -> bool:
    """Whether ``message`` fitted in ``batch`` (and so was added to it)."""
    try:
        batch.add_message(message)
    except MessageSizeExceededError:
        return False
    return True


def encoded_size(message: ServiceBusMessage) -> int:
    probe = ServiceBusMessageBatch(max_size_in_bytes=2**62)
    probe.add_message(message)
    return probe.size_in_bytes
