"""The connection to RabbitMQ: opened lazily, re-opened by aio-pika, and publishing on it."""

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

logger = logging.getLogger("beehive.queues.rabbitmq")

TRANSIENT: Final = (AMQPConnectionError, ChannelInvalidStateError, ConnectionError)
"""Errors after which an operation is worth retrying once the connection is back."""


def masked(url: str) -> str:
    """``url`` without its password, for logs and reprs."""
    parsed = URL(url)
    return str(parsed.with_password("****")) if parsed.password else url


class Link:
    """One robust connection, a confirmed publishing channel, and short-lived admin channels.

    ``publish`` waits for the broker's confirm and rides out a lost connection for up to
    ``publish_timeout`` seconds; aio-pika re-opens the connection every
    ``reconnect_interval`` seconds and restores its channels.
    """

    def __init__(self, url: str, *, reconnect_interval: float, publish_timeout: float) -> None:
        self.url = url
        self._reconnect_interval = reconnect_interval
        self._publish_timeout = publish_timeout
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None
        self._connecting = asyncio.Lock()
        self._delays: set[str] = set()
        self.closed = False

    async def connect(self) -> AbstractRobustConnection:
        if self._connection is not None:
            return self._connection
        async with self._connecting:
            if self.closed:
                raise RuntimeError(f"the connection to {masked(self.url)} is closed")
            if self._connection is None:
                try:
                    connection = await aio_pika.connect_robust(
                        self.url, reconnect_interval=self._reconnect_interval
                    )
                except (OSError, AMQPConnectionError) as error:
                    raise BrokerUnavailableError(
                        f"cannot reach RabbitMQ at {masked(self.url)}: {error}"
                    ) from error
                # A returned (unroutable) mandatory publish must fail its confirm: with aio-pika's
                # default (False) it resolves like a delivered one and the event is lost.
                publisher = connection.channel(on_return_raises=True)
                await publisher.initialize()
                self._publisher = publisher
                self._connection = connection
        return self._connection

    async def channel(self) -> AbstractRobustChannel:
        """A new robust channel (restored with the connection), not yet initialised."""
        return (await self.connect()).channel()

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
        connection, self._connection, self._publisher = self._connection, None, None
        if connection is not None:
            await connection.close()
