"""A job chain for the RabbitMQ end-to-end tests, and a worker process that runs it.

``Job_x-Work`` does each job (slowly, so a crash catches some in flight) and publishes a
``Done_x`` event naming it; the tests read ``Done_x-Check`` to see what was done, how often.

Run as ``python -m tests.queues.rabbitmq_chain URL SOURCE PARALLELISM``: a host that works
until it is killed, printing ``ready`` once it consumes.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from collections.abc import Callable

from beehive import ActorDescriptor, ActorHost, Event, LeaseLostError
from beehive.backoff import Backoff
from beehive.queues import QueueOperator

FAST_BACKOFF = Backoff(initial=0.01, factor=2.0, maximum=0.1, jitter=0.0)


class Worker:
    """Takes a little while over each job, then reports it done to the ``done`` property."""

    async def process(self, event: Event) -> list[Event]:
        await asyncio.sleep(0.02)
        done = str(event.properties["done"])
        return [
            Event(event_type=done, body=event.body, properties={"delivery": event.delivery_count})
        ]


def jobs(topic: str, done: str, count: int) -> list[Event]:
    return [Event(event_type=topic, body=f"{i}", properties={"done": done}) for i in range(count)]


def worker_host(operator: QueueOperator, source: str, parallelism: int) -> ActorHost:
    descriptor = ActorDescriptor(Worker, source, parallelism=parallelism)
    return ActorHost(operator, [descriptor], poll_wait=1.0, backoff=FAST_BACKOFF, stop_grace=5.0)


async def collect(
    operator: QueueOperator,
    source: str,
    done: Counter[str],
    until: Callable[[Counter[str]], bool],
    timeout: float,
    retried: set[str] | None = None,
) -> None:
    """Lease and complete ``Done`` events into ``done`` (by job) until ``until`` holds.

    Jobs done on a second or later delivery go into ``retried``. A ``Done`` event whose lease
    is lost is not counted: the broker delivers it again. Raises TimeoutError, with what was
    collected, when ``until`` does not hold within ``timeout``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not until(done):
        left = deadline - loop.time()
        if left <= 0:
            raise TimeoutError(f"collected {sum(done.values())} done events: {sorted(done)}")
        for event in await operator.next(source, max_count=50, wait=min(left, 1.0)):
            try:
                await operator.complete(event)
            except LeaseLostError:
                continue
            done[event.body] += 1
            if retried is not None and int(event.properties["delivery"]) > 1:
                retried.add(event.body)


async def _work(url: str, source: str, parallelism: int) -> None:
    from beehive.queues.rabbitmq import RabbitMQQueueOperator

    async with RabbitMQQueueOperator(url) as operator:
        host = worker_host(operator, source, parallelism)
        await host.start()
        print("ready", flush=True)
        await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(_work(sys.argv[1], sys.argv[2], int(sys.argv[3])))
