"""The connections to RabbitMQ: opened lazily, re-opened by aio-pika, and publishing on them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final, Literal

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustChannel, AbstractRobustConnection
from aiormq.abc import AbstractChannel as UnderlayChannel
from aiormq.exceptions import (
    AMQPConnectionError,
    ChannelInvalidStateError,
    ChannelNotFoundEntity,
    PublishError,
)
from pamqp.commands import Basic
from yarl import URL

from beehive.errors import BrokerUnavailableError, QueueNotFoundError
from beehive.events import Event
from beehive.queues.rabbitmq._codec import Outgoing, delay_bucket, delay_queue, encode, now_ms
from beehive.queues.rabbitmq._outages import Outage, quiet_reconnects

logger = logging.getLogger("beehive.queues.rabbitmq")

TRANSIENT: Final = (AMQPConnectionError, ChannelInvalidStateError, ConnectionError)
"""Errors after which an operation is worth retrying once the connection is back."""


def masked(url: str) -> str:
    """``url`` without its password, for logs and reprs."""
    parsed = URL(url)
    return str(parsed.with_password("****")) if parsed.password else url


class Link:
    """Two robust connections: one to publish (with a confirmed channel, and short-lived admin
    channels), one to consume, opened with the first consumer.

    RabbitMQ applies flow control per connection: a connection that publishes is the one a
    memory or disk alarm blocks, so consumers on their own connection can still take and
    acknowledge messages (drain) while publishers wait. ``publish`` waits for the broker's
    confirm and rides out a lost connection for up to ``publish_timeout`` seconds; aio-pika
    re-opens a lost connection every ``reconnect_interval`` seconds and restores its
    channels. A broker that accepts TCP but does not complete the AMQP handshake within
    ``connect_timeout`` seconds is unavailable.
    """

    def __init__(
        self,
        url: str,
        *,
        reconnect_interval: float,
        publish_timeout: float,
        connect_timeout: float,
    ) -> None:
        self.url = url
        self._reconnect_interval = reconnect_interval
        self._publish_timeout = publish_timeout
        self._connect_timeout = connect_timeout
        self._publishing: AbstractRobustConnection | None = None
        self._consuming: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None
        self._connecting = asyncio.Lock()
        self._outage = Outage(f"RabbitMQ at {masked(url)}")
        self._delays: set[str] = set()
        self.closed = False
        quiet_reconnects()

    async def connect(self) -> AbstractRobustConnection:
        """The publishing connection (opened on first use) with its confirmed channel."""
        if self._publishing is not None:
            return self._publishing
        async with self._connecting:
            if self._publishing is None:
                connection = await self._open("publish")
                # A returned (unroutable) mandatory publish must fail its confirm: with aio-pika's
                # default (False) it resolves like a delivered one and the event is lost.
                publisher = connection.channel(on_return_raises=True)
                await publisher.initialize()
                self._publisher = publisher
                self._publishing = connection
        return self._publishing

    async def channel(self) -> AbstractRobustChannel:
        """A new robust channel on the consuming connection, not yet initialised."""
        await self.connect()  # fails fast, once, for an unreachable broker
        async with self._connecting:
            if self._consuming is None:
                self._consuming = await self._open("consume")
        return self._consuming.channel()

    async def _open(self, purpose: str) -> AbstractRobustConnection:
        if self.closed:
            raise RuntimeError(f"the connection to {masked(self.url)} is closed")
        try:
            connection = await aio_pika.connect_robust(
                self.url,
                reconnect_interval=self._reconnect_interval,
                timeout=self._connect_timeout,
                client_properties={"connection_name": f"beehive {purpose}"},
            )
        except TimeoutError:
            raise BrokerUnavailableError(
                f"RabbitMQ at {masked(self.url)} did not complete the AMQP handshake within "
                f"{self._connect_timeout:g} s (is it an AMQP broker, and the port AMQP's?)"
            ) from None
        except (OSError, AMQPConnectionError) as error:
            raise BrokerUnavailableError(
                f"cannot reach RabbitMQ at {masked(self.url)}: {error}"
            ) from error

        def lost(_: object, reason: object) -> None:
            if not self.closed:
                self._outage.lost(purpose, reason)

        connection.close_callbacks.add(lost)
        connection.reconnect_callbacks.add(lambda _: self._outage.back(purpose))
        return connection

    @asynccontextmanager
    async def admin(self) -> AsyncIterator[AbstractChannel]:
        """A short-lived plain channel for declarations (a failed one closes its channel)."""
        connection = await self.connect()
        await connection.ready()
        channel = aio_pika.Channel(connection, publisher_confirms=False)
        await channel.initialize()
        try:
            yield channel
        finally:
            if not channel.is_closed:
                await channel.close()

    async def exists(self, kind: Literal["exchange", "queue"], name: str) -> bool:
        async with self.admin() as channel:
            try:
                if kind == "exchange":
                    await channel.declare_exchange(name, passive=True)
                else:
                    await channel.declare_queue(name, passive=True)
            except ChannelNotFoundEntity:
                return False
        return True

    async def publish(self, exchange: str, routing_key: str, message: Outgoing) -> bool:
        """Publish and wait for the confirm, riding out a lost connection; False if unroutable."""
        await self.connect()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        pause = 0.05
        while True:
            publisher = self._publisher
            if publisher is None:
                raise RuntimeError(f"the connection to {masked(self.url)} is closed")
            try:
                channel: UnderlayChannel = await publisher.get_underlay_channel()
                confirm = await channel.basic_publish(
                    message.body,
                    exchange=exchange,
                    routing_key=routing_key,
                    properties=message.properties,
                    mandatory=True,
                )
            except ChannelNotFoundEntity as error:
                raise QueueNotFoundError(f"cannot publish to {exchange!r}: {error}") from None
            except PublishError:
                return False  # returned by the broker: no queue is bound to take it
            except TRANSIENT as error:
                if self.closed or loop.time() + pause > deadline:
                    raise
                logger.info("publishing waits for RabbitMQ (%s)", error)
            else:
                if not isinstance(confirm, Basic.Nack):
                    return True
                if loop.time() + pause > deadline:
                    raise BrokerUnavailableError(
                        f"RabbitMQ at {masked(self.url)} refused a message for {exchange!r}"
                    )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    async def publish_delayed(self, queue: str, event: Event, due: int, deliveries: int) -> None:
        """Publish to the delay queue that brings ``event`` back to ``queue`` around ``due``."""
        milliseconds = delay_bucket(due - now_ms())
        holder = delay_queue(queue, milliseconds)
        if holder not in self._delays:
            async with self.admin() as channel:
                await channel.declare_queue(
                    holder,
                    durable=True,
                    arguments={
                        "x-message-ttl": milliseconds,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": queue,
                    },
                )
            self._delays.add(holder)
        await self.publish("", holder, encode(event, deliveries=deliveries, due_ms=due))

    def forget_delays(self, queue: str) -> None:
        """The delay queues of ``queue`` were deleted: declare them again when needed."""
        self._delays = {d for d in self._delays if not d.startswith(f"{queue}:")}

    async def close(self) -> None:
        self.closed = True
        connections = (self._consuming, self._publishing)
        self._consuming = self._publishing = self._publisher = None
        for connection in connections:
            if connection is not None:
                await connection.close()
