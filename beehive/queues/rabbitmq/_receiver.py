"""One consumer per queue: deliveries pushed by the broker, handed to ``next`` callers as leases.

The broker pushes up to ``prefetch`` unacknowledged deliveries into a local buffer; each
``next`` caller takes from it, or waits on a future that the next delivery resolves (no
polling). With sessions, the buffer keeps one line per session and hands out at most one
message of a session at a time, the head first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aio_pika.abc import AbstractRobustChannel
from aiormq.abc import DeliveredMessage
from pamqp.commands import Basic

from beehive.events import Event
from beehive.names import QueueName
from beehive.queues._lineup import Lineup
from beehive.queues.base import QueueSettings
from beehive.queues.rabbitmq._codec import Decoded


async def ack(message: DeliveredMessage) -> None:
    """Acknowledge a delivery on the channel it came on."""
    delivery = message.delivery
    if isinstance(delivery, Basic.Deliver | Basic.GetOk) and delivery.delivery_tag is not None:
        await message.channel.basic_ack(delivery.delivery_tag)


@dataclass(eq=False, slots=True)
class Lease:
    """An unacknowledged delivery, as leased to one caller (the operator's handle)."""

    receiver: Receiver
    message: DeliveredMessage
    decoded: Decoded
    deliveries: int

    @property
    def alive(self) -> bool:
        """False once the channel it came on has closed: the broker has taken it back."""
        return not self.message.channel.is_closed

    async def ack(self) -> None:
        await ack(self.message)

    @property
    def session(self) -> str:
        return self.decoded.event.session_id or ""

    def event(self) -> Event:
        """A new event object for this delivery (the operator keys its handle by identity)."""
        return self.decoded.event.evolve({"delivery_count": self.deliveries})


OnMessage = Callable[["Receiver", DeliveredMessage], Awaitable[None]]
logger = logging.getLogger("beehive.queues.rabbitmq")


@dataclass(eq=False)
class Receiver:
    """The consumer of one subscription or queue, and its buffer of ready deliveries."""

    name: QueueName
    settings: QueueSettings
    prefetch: int | None
    channel: AbstractRobustChannel | None = None
    on_message: OnMessage | None = None
    demand: int = 0
    """Messages asked for by callers waiting in ``next`` (sizes the prefetch at start)."""
    held: int = 0
    lineup: Lineup[Lease] = field(init=False)
    started: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    closed: bool = False
    consumer_tag: str | None = None

    def __post_init__(self) -> None:
        self.lineup = Lineup(
            sessions=self.settings.sessions, session_of=lambda lease: lease.session
        )

    async def start(self, channel: AbstractRobustChannel, on_message: OnMessage) -> None:
        """Consume with a prefetch of ``prefetch``, or of the demand of the callers so far.

        Quorum queues fix a consumer's prefetch when it starts, so it is sized once: the host
        starts all workers of an actor together, and they are all waiting by now.
        """
        self.channel, self.on_message = channel, on_message
        await channel.initialize()
        self.prefetch = self.prefetch or max(1, self.demand)
        await channel.set_qos(prefetch_count=self.prefetch)  # aio-pika restores it on reopen
        channel.reopen_callbacks.add(self._reopened)
        await self._consume()

    async def _consume(self) -> None:
        # basic.consume on the underlying aiormq channel: one task per delivery, no wrapper.
        if self.channel is not None:
            underlay = await self.channel.get_underlay_channel()
            consuming = await underlay.basic_consume(str(self.name), self._deliver)
            self.consumer_tag = consuming.consumer_tag

    async def cancel(self) -> None:
        """Stop the broker's deliveries to this consumer (what it sent already stays here)."""
        tag, self.consumer_tag = self.consumer_tag, None
        if tag is not None and self.channel is not None and not self.channel.is_closed:
            underlay = await self.channel.get_underlay_channel()
            await underlay.basic_cancel(tag)

    async def _deliver(self, message: DeliveredMessage) -> None:
        if self.on_message is not None:
            await self.on_message(self, message)

    async def _reopened(self, *_: object) -> None:
        """The channel came back after a connection loss: consume again on the new one.

        Buffered and leased deliveries died with the old channel; the broker delivers them
        again, so the buffer starts empty.
        """
        self.held = 0
        self.lineup.clear()
        if self.closed:
            return
        try:
            await self._consume()
        except Exception:
            logger.exception("could not consume %s again after reconnecting", self.name)

    # -- the buffer ---------------------------------------------------------------------------

    def offer(self, lease: Lease, *, front: bool = False) -> None:
        self.lineup.put(lease, front=front)

    def take(self, max_count: int) -> list[Lease]:
        """Up to ``max_count`` live deliveries, marked held (sessions: one per session)."""
        taken: list[Lease] = []
        while len(taken) < max_count:
            lease = self.lineup.take()
            if lease is None:
                break
            if not lease.alive:
                self.release(lease)
                continue
            self.held += 1
            taken.append(lease)
        return taken

    def settle(self, lease: Lease) -> None:
        """A held lease is done with (acked, re-offered or lost)."""
        self.held = max(0, self.held - 1)

    def release(self, lease: Lease) -> None:
        """Let the next message of the lease's session go out (sessions only)."""
        self.lineup.release(lease)

    def wake_all(self) -> None:
        self.lineup.wake_all()

    async def wait(self, deadline: float) -> bool:
        """Wait for a delivery until ``deadline`` (loop time); False when the time ran out."""
        return await self.lineup.wait(deadline)
