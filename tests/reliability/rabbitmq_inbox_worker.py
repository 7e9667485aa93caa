"""A worker process for the RabbitMQ crash tests with the inbox on, and what they share.

``Job_x-Work`` (idempotent) does each job slowly, so a crash catches some in flight, and
publishes a ``Done_x`` event; ``Done_x-Tally`` (idempotent) counts each job's Done events: its
side effect. Both keep their inbox in Azure Table storage (Azurite), shared by every process.

Run as ``python -m tests.reliability.rabbitmq_inbox_worker URL SOURCE PARALLELISM CONNECTION
PREFIX``: a host that works until it is killed, printing ``ready`` once it consumes.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter

from beehive import ActorDescriptor, ActorHost, Event
from beehive.inbox import Inbox, InboxRecord
from beehive.queues import QueueOperator
from tests.reliability.support import FAST


class Worker:
    async def process(self, event: Event) -> list[Event]:
        await asyncio.sleep(0.02)
        return [Event(event_type=str(event.properties["done"]), body=event.body)]


def azure_inbox(connection: str, prefix: str) -> Inbox:
    from beehive.stores.azure import AzureCollectionStore

    store = AzureCollectionStore.from_connection_string(
        connection, InboxRecord, table_prefix=prefix
    )
    return Inbox(store)


def worker_host(operator: QueueOperator, source: str, parallelism: int, inbox: Inbox) -> ActorHost:
    descriptor = ActorDescriptor(Worker, source, parallelism=parallelism, idempotent=True)
    return ActorHost(
        operator, [descriptor], inbox=inbox, poll_wait=1.0, backoff=FAST, stop_grace=5.0
    )


def tally_host(
    operator: QueueOperator, source: str, inbox: Inbox, tallies: Counter[str]
) -> ActorHost:
    class Tally:
        async def process(self, event: Event) -> list[Event]:
            tallies[event.body] += 1
            return []

    # One worker: a copy redelivered while the first is still being processed (a restart
    # loses the lease mid-processing) then waits for it, and finds its record. With several
    # workers both copies could run, and a side effect inside process would happen twice.
    descriptor = ActorDescriptor(Tally, source, parallelism=1, idempotent=True)
    return ActorHost(operator, [descriptor], inbox=inbox, poll_wait=1.0, backoff=FAST)


async def _work(url: str, source: str, parallelism: int, connection: str, prefix: str) -> None:
    from beehive.queues.rabbitmq import RabbitMQQueueOperator

    async with RabbitMQQueueOperator(url) as operator:
        host = worker_host(operator, source, parallelism, azure_inbox(connection, prefix))
        await host.start()
        print("ready", flush=True)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    url, source, parallelism, connection, prefix = sys.argv[1:6]
    asyncio.run(_work(url, source, int(parallelism), connection, prefix))
