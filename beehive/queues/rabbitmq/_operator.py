"""The RabbitMQ operator: ``RabbitMQQueueOperator`` (see the package docstring)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, Literal

import aio_pika
from aio_pika.abc import AbstractChannel
from aiormq.abc import DeliveredMessage
from aiormq.exceptions import (
    AMQPError,
    ChannelClosed,
    ChannelNotFoundEntity,
    ChannelPreconditionFailed,
)
from pamqp.commands import Basic

from beehive.errors import (
    BeeHiveError,
    BrokerError,
    BrokerUnavailableError,
    LeaseLostError,
    QueueConflictError,
    QueueNotFoundError,
)
from beehive.events import Event
from beehive.names import QueueKind, QueueName
from beehive.queues.base import (
    MAX_DELIVERIES_EXCEEDED,
    SESSION_ID_REQUIRED,
    DeadLetterInfo,
    QueueDepth,
    QueueOperator,
    QueueSettings,
    Replay,
    Selector,
    destination,
    no_destination,
)
from beehive.queues.rabbitmq._codec import (
    UNREADABLE,
    Decoded,
    dead_letter_queue,
    dead_lettered,
    decode,
    delay_queue,
    encode,
    now_ms,
    unreadable,
)
from beehive.queues.rabbitmq._link import TRANSIENT, Link, masked
from beehive.queues.rabbitmq._receiver import Lease, Receiver, ack

logger = logging.getLogger("beehive.queues.rabbitmq")

DEFAULT_URL: Final = "amqp://guest:guest@127.0.0.1:5672/"
QueueType = Literal["quorum", "classic"]

_ANY_DELAY_BUCKET: Final = [1 << power for power in range(32)]


def _identify(message: DeliveredMessage, topic: str) -> tuple[str | None, str, Decoded | None]:
    """A dead letter's event id, reason and decoded event (None when it is no event)."""
    try:
        decoded = decode(message, topic)
    except Exception:
        meta = (message.header.properties.headers or {}).get("beehive")
        reason = meta.get("reason") if isinstance(meta, dict) else None
        text = reason.decode() if isinstance(reason, bytes) else str(reason or "")
        return message.header.properties.message_id, text, None
    return decoded.event.id, decoded.dead.reason if decoded.dead else "", decoded


class RabbitMQQueueOperator(QueueOperator):
    """The RabbitMQ broker; see the module docstring for how the model maps onto it.

    ``prefetch`` caps the unacknowledged deliveries per queue (default: sized from the
    callers waiting when the consumer starts). ``queue_type`` is ``"quorum"`` (counts
    deliveries across consumer crashes) or ``"classic"`` (faster on one node; a crash
    redelivery counts once, whatever the number of crashes). Connects on first use, or on
    ``connect()``.
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        prefetch: int | None = None,
        queue_type: QueueType = "quorum",
        reconnect_interval: float = 1.0,
        publish_timeout: float = 30.0,
        connect_timeout: float = 10.0,
    ) -> None:
        super().__init__()
        if prefetch is not None and prefetch < 1:
            raise ValueError(f"prefetch must be at least 1, got {prefetch}")
        if queue_type not in ("quorum", "classic"):
            raise ValueError(f"queue_type must be 'quorum' or 'classic', got {queue_type!r}")
        self._prefetch = prefetch
        self._queue_type = queue_type
        if connect_timeout <= 0:
            raise ValueError(f"connect_timeout must be positive, got {connect_timeout}")
        self._link = Link(
            url,
            reconnect_interval=reconnect_interval,
            publish_timeout=publish_timeout,
            connect_timeout=connect_timeout,
        )
        self._kinds: dict[str, QueueKind] = {}
        self._settings: dict[str, QueueSettings] = {}
        self._receivers: dict[str, Receiver] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    def __repr__(self) -> str:
        return f"RabbitMQQueueOperator({masked(self._link.url)!r}, queue_type={self._queue_type!r})"

    async def connect(self) -> None:
        """Connect now rather than on first use; ``BrokerUnavailableError`` when unreachable."""
        await self._link.connect()

    # -- topology -------------------------------------------------------------------------------

    def _translate(self, error: Exception) -> BeeHiveError | None:
        where = f"RabbitMQ at {masked(self._link.url)}"
        if isinstance(error, (*TRANSIENT, OSError)):
            return BrokerUnavailableError(f"{where} is unavailable: {error}")
        if isinstance(error, AMQPError):
            return BrokerError(f"{where} refused: {error!r}")
        return None

    async def _setup(self, name: QueueName, settings: QueueSettings) -> None:
        if name.kind is QueueKind.QUEUE:
            if await self._link.exists("exchange", name.topic):
                raise QueueConflictError(f"cannot create queue {name}: a topic has that name")
            await self._declare_queue(str(name), settings)
            self._kinds[name.topic] = QueueKind.QUEUE
            return
        if await self._link.exists("queue", name.topic):
            raise QueueConflictError(f"cannot create topic {name.topic}: a queue has that name")
        async with self._link.admin() as channel:
            exchange = await channel.declare_exchange(
                name.topic, aio_pika.ExchangeType.FANOUT, durable=True
            )
            self._kinds[name.topic] = QueueKind.TOPIC
            if name.subscription is not None:
                await self._declare_queue(str(name), settings)
                queue = await channel.declare_queue(str(name), passive=True)
                await queue.bind(exchange)

    async def _declare_queue(self, name: str, settings: QueueSettings) -> None:
        """Declare a queue and its dead-letter queue; an existing queue keeps its arguments."""
        self._settings.setdefault(name, settings)
        arguments: dict[str, Any] = {
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": dead_letter_queue(name),
        }
        if self._queue_type == "quorum":
            arguments["x-queue-type"] = "quorum"
            arguments["x-delivery-limit"] = settings.max_deliveries
        if settings.sessions:
            arguments["x-single-active-consumer"] = True
        async with self._link.admin() as channel:
            await channel.declare_queue(dead_letter_queue(name), durable=True)
        try:
            async with self._link.admin() as channel:
                await channel.declare_queue(name, durable=True, arguments=arguments)
        except ChannelPreconditionFailed as error:
            logger.warning("queue %s exists with other settings, kept as they are: %s", name, error)

    async def _delete(self, name: QueueName) -> None:
        if name.kind is QueueKind.QUEUE and await self._link.exists("exchange", name.topic):
            name = QueueName.topic_of(name.topic)
        if name.is_topic:
            # AMQP cannot list an exchange's bindings: the subscriptions known here go with it.
            prefix = f"{name.topic}-"
            queues = {q for q in {*self._settings, *self._receivers} if q.startswith(prefix)}
        else:
            queues = {str(name)}
        for queue in queues:
            receiver = self._receivers.pop(queue, None)
            if receiver is not None:
                await self._close_receiver(receiver)
            self._settings.pop(queue, None)
        async with self._link.admin() as channel:
            for queue in sorted(queues):
                await channel.queue_delete(queue)
                await channel.queue_delete(dead_letter_queue(queue))
                for milliseconds in _ANY_DELAY_BUCKET:
                    await channel.queue_delete(delay_queue(queue, milliseconds))
                self._link.forget_delays(queue)
            if name.kind is not QueueKind.SUBSCRIPTION:
                if name.is_topic:
                    await channel.exchange_delete(name.topic)
                self._kinds.pop(name.topic, None)

    async def _exists(self, name: QueueName) -> bool:
        if name.is_topic:
            return await self._link.exists("exchange", name.topic)
        return await self._link.exists("queue", str(name))

    async def _kind(self, name: str, event: Event) -> QueueKind:
        kind = self._kinds.get(name)
        if kind is None:
            if await self._link.exists("exchange", name):
                kind = QueueKind.TOPIC
            elif await self._link.exists("queue", name):
                kind = QueueKind.QUEUE
            else:
                raise no_destination(event, name)
            self._kinds[name] = kind
        return kind

    # -- sending --------------------------------------------------------------------------------

    async def _send(self, events: Sequence[Event]) -> None:
        """Publish all, then wait for the confirms together (one round trip, in order)."""
        if len(events) == 1:
            await self._publish(events[0])
        else:
            await asyncio.gather(*(self._publish(event) for event in events))

    async def _publish(self, event: Event) -> None:
        name = destination(event)
        kind = await self._kind(name, event)
        message = encode(event)
        if kind is QueueKind.TOPIC:
            if not await self._link.publish(name, "", message):
                self._dropped(event, name)
        elif not await self._link.publish("", name, message):
            self._kinds.pop(name, None)
            raise no_destination(event, name, "it no longer exists")

    # -- receiving ------------------------------------------------------------------------------

    async def _receive(
        self, name: QueueName, max_count: int, wait: float
    ) -> list[tuple[Event, Lease]]:
        receiver = await self._receiver(name, max_count)
        leases = receiver.take(max_count)
        if not leases:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + wait
            receiver.demand += max_count
            try:
                while not leases and not receiver.closed and await receiver.wait(deadline):
                    leases = receiver.take(max_count)
            finally:
                receiver.demand -= max_count
        return [(lease.event(), lease) for lease in leases]

    async def _receiver(self, name: QueueName, max_count: int) -> Receiver:
        key = str(name)
        receiver = self._receivers.get(key)
        if receiver is None:
            if self._link.closed:
                raise RuntimeError(f"{self!r} is closed")
            receiver = Receiver(name, self._settings.get(key, QueueSettings()), self._prefetch)
            self._receivers[key] = receiver
            task = asyncio.create_task(self._start(receiver), name=f"beehive-consume-{key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if not receiver.started.done():
            receiver.demand += max_count
            try:
                await asyncio.shield(receiver.started)
            finally:
                receiver.demand -= max_count
        receiver.started.result()
        return receiver

    async def _start(self, receiver: Receiver) -> None:
        key = str(receiver.name)
        try:
            if not await self._link.exists("queue", key):
                raise QueueNotFoundError(f"no subscription or queue named {key}; call setup_queue")
            channel = await self._link.channel()
            try:
                await receiver.start(channel, self._on_message)
            except BaseException:
                await channel.close()
                raise
        except BaseException as error:
            if self._receivers.get(key) is receiver:
                del self._receivers[key]
            receiver.started.set_exception(error)
            if not isinstance(error, Exception):
                raise
        else:
            receiver.started.set_result(None)

    async def _close_receiver(self, receiver: Receiver) -> None:
        receiver.closed = True
        receiver.wake_all()
        if receiver.channel is not None and not receiver.channel.is_closed:
            await receiver.channel.close()

    async def _on_message(self, receiver: Receiver, message: DeliveredMessage) -> None:
        """A delivery from the broker: buffer it, or send it round, or dead-letter it."""
        queue = str(receiver.name)
        try:
            try:
                decoded = decode(message, receiver.name.topic)
            except Exception as error:
                logger.error("dead-lettering an unreadable message from %s: %s", queue, error)
                why = DeadLetterInfo.now(UNREADABLE, str(error)[:1000], 1)
                copy = unreadable(message, why)
                await self._link.publish("", dead_letter_queue(queue), copy)
                await ack(message)
                return
            if decoded.due_ms is not None and decoded.due_ms > now_ms():
                await self._link.publish_delayed(
                    queue, decoded.event, decoded.due_ms, decoded.deliveries
                )
                await ack(message)
                return
            deliveries = decoded.deliveries + 1
            if receiver.settings.sessions and decoded.event.session_id is None:
                description = f"{queue} requires sessions: publish with a session_id"
                why = DeadLetterInfo.now(SESSION_ID_REQUIRED, description, deliveries)
                await self._bury(queue, message, decoded, why)
            elif deliveries > receiver.settings.max_deliveries:
                description = f"delivered {deliveries - 1} times without completion"
                why = DeadLetterInfo.now(MAX_DELIVERIES_EXCEEDED, description, deliveries - 1)
                await self._bury(queue, message, decoded, why)
            else:
                receiver.offer(Lease(receiver, message, decoded, deliveries))
        except Exception:
            # Left unacknowledged: the broker delivers it again when this channel goes.
            logger.exception("could not handle a delivery from %s", queue)

    async def _bury(
        self, queue: str, message: DeliveredMessage, decoded: Decoded, why: DeadLetterInfo
    ) -> None:
        dead = encode(decoded.event, deliveries=why.delivery_count, dead=why)
        await self._link.publish("", dead_letter_queue(queue), dead)
        await ack(message)
        logger.log(
            # The host logs what it dead-letters (why.actor): one entry tells each dead letter.
            logging.DEBUG if why.actor else logging.WARNING,
            "dead-lettered event %s %s in %s: %s",
            decoded.event.event_type,
            decoded.event.id,
            queue,
            why.reason,
        )

    # -- settling -------------------------------------------------------------------------------

    def _lease_lost(self, handle: Lease) -> bool:
        if handle.alive:
            return False
        handle.receiver.settle(handle)
        return True

    @asynccontextmanager
    async def _settling(self, lease: Lease) -> AsyncIterator[Lease]:
        """Settle a lease once; a channel lost meanwhile means the lease is lost."""
        try:
            yield lease
        except (*TRANSIENT, ChannelClosed) as error:
            raise LeaseLostError(
                f"lost the lease on event {lease.decoded.event.event_type} "
                f"{lease.decoded.event.id} in {lease.receiver.name} ({error}); the broker "
                "delivers it again"
            ) from error
        finally:
            lease.receiver.settle(lease)

    async def _complete(self, handle: Lease) -> None:
        async with self._settling(handle) as lease:
            await lease.ack()
            lease.receiver.release(lease)

    async def _abandon(self, handle: Lease, wait: float) -> None:
        async with self._settling(handle) as lease:
            receiver, queue = lease.receiver, str(lease.receiver.name)
            if receiver.settings.sessions:
                self._abandon_in_session(lease, wait)
                return
            if wait > 0:
                due = now_ms() + int(wait * 1000)
                await self._link.publish_delayed(queue, lease.decoded.event, due, lease.deliveries)
            else:
                await self._link.publish(
                    "", queue, encode(lease.decoded.event, deliveries=lease.deliveries)
                )
            await lease.ack()

    def _abandon_in_session(self, lease: Lease, wait: float) -> None:
        """Keep the delivery and offer it again first in its session, holding the session."""
        receiver = lease.receiver
        again = Lease(receiver, lease.message, lease.decoded, lease.deliveries + 1)
        if again.deliveries > receiver.settings.max_deliveries:
            description = f"delivered {lease.deliveries} times without completion"
            why = DeadLetterInfo.now(MAX_DELIVERIES_EXCEEDED, description, lease.deliveries)
            task = asyncio.create_task(
                self._bury(str(receiver.name), lease.message, lease.decoded, why)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            task.add_done_callback(lambda _: receiver.release(lease))
            return

        def due() -> None:
            self._timers.discard(timer)
            receiver.release(lease)
            receiver.offer(again, front=True)

        timer = asyncio.get_running_loop().call_later(wait, due)
        self._timers.add(timer)

    async def _dead_letter(self, handle: Lease, info: DeadLetterInfo) -> None:
        async with self._settling(handle) as lease:
            await self._bury(str(lease.receiver.name), lease.message, lease.decoded, info)
            lease.receiver.release(lease)

    async def _renew(self, handle: Lease) -> None:
        """Nothing to renew: a delivery stays leased until settled (see consumer_timeout)."""

    # -- dead letters ---------------------------------------------------------------------------

    async def _peek_dead_letters(self, name: QueueName) -> list[Event]:
        events: list[Event] = []
        async with self._link.admin() as channel:
            async for message in self._dead_letter_messages(channel, name):
                try:
                    events.append(dead_lettered(decode(message, name.topic, lenient=True)))
                except Exception as error:
                    logger.warning("skipped an unreadable dead letter in %s: %s", name, error)
        # Closing the channel gave every peeked message back, in order.
        return events

    async def _requeue(self, name: QueueName, event: Event) -> None:
        """Publish to the queue itself (the default exchange, routed by the queue's name), so
        no other subscription of the topic sees it."""
        if not await self._link.publish("", str(name), encode(event)):
            raise QueueNotFoundError(f"cannot replay into {name}: the queue is gone")

    async def _sweep_dead_letters(
        self, name: QueueName, selector: Selector, replay: Replay | None
    ) -> int:
        """Take every dead letter of ``name`` unacknowledged; ack (after ``replay``) the
        selected ones. Closing the channel gives the others back, in their order."""
        done = 0
        async with self._link.admin() as channel:
            async for message in self._dead_letter_messages(channel, name):
                event_id, dead_reason, decoded = _identify(message, name.topic)
                if not selector(event_id, dead_reason):
                    continue
                if replay is not None:
                    if decoded is None:
                        logger.warning("cannot replay unreadable dead letter %s", event_id)
                        continue
                    await replay(dead_lettered(decoded))
                await ack(message)
                done += 1
        return done

    @staticmethod
    async def _dead_letter_messages(
        channel: AbstractChannel, name: QueueName
    ) -> AsyncIterator[DeliveredMessage]:
        """Every dead letter of ``name``, taken unacknowledged on ``channel`` (closing the
        channel gives back what was not acked, in order)."""
        try:
            queue = await channel.declare_queue(dead_letter_queue(str(name)), passive=True)
        except ChannelNotFoundEntity:
            raise QueueNotFoundError(f"no subscription or queue named {name}") from None
        underlay = await channel.get_underlay_channel()
        for _ in range(queue.declaration_result.message_count or 0):
            message = await underlay.basic_get(queue.name, no_ack=False)
            if not isinstance(message.delivery, Basic.GetOk):
                return
            yield message

    # -- inspection -----------------------------------------------------------------------------

    async def _depth(self, name: QueueName) -> QueueDepth:
        """Counted by passive declarations (no management plugin): the ready messages of the
        queue, plus those this process has fetched but not handed out, and of its dead-letter
        queue. Leased and delayed messages are not counted by AMQP (None)."""
        counts = []
        async with self._link.admin() as channel:
            for queue in (str(name), dead_letter_queue(str(name))):
                try:
                    declared = await channel.declare_queue(queue, passive=True)
                except ChannelNotFoundEntity:
                    raise QueueNotFoundError(f"no subscription or queue named {name}") from None
                counts.append(declared.declaration_result.message_count or 0)
        receiver = self._receivers.get(str(name))
        buffered = len(receiver.lineup) if receiver is not None else 0
        return QueueDepth(
            active=counts[0] + buffered, scheduled=None, leased=None, dead_lettered=counts[1]
        )

    # -- lifecycle ------------------------------------------------------------------------------

    async def _give_back(self, receiver: Receiver) -> None:
        """Stop consuming, then return what was fetched and never leased, its count unchanged.

        Closing the channel would give those messages back marked redelivered: a delivery
        they never had, so every stop (a rolling deploy) would burn one, and a message a stop
        abandoned would come back counted twice. Session queues keep the broker's order
        instead (a re-published message would overtake its session's next one).
        """
        try:
            await receiver.cancel()
            if receiver.settings.sessions:
                return
            queue = str(receiver.name)
            for lease in receiver.lineup.drain():
                if lease.alive:
                    decoded = lease.decoded
                    await self._link.publish(
                        "", queue, encode(decoded.event, deliveries=decoded.deliveries)
                    )
                    await lease.ack()
        except Exception as error:
            # What is left goes back when the channel closes, counted as one more delivery.
            logger.warning("could not give back the buffer of %s: %s", receiver.name, error)

    async def _close(self) -> None:
        """Stop consuming and close the connection; unsettled deliveries go back to the queues."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for receiver in list(self._receivers.values()):
            receiver.closed = True
            receiver.wake_all()
            await self._give_back(receiver)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._receivers.clear()
        await self._link.close()
