"""The RabbitMQ crash and restart tests again, with the inbox on: no duplicate side effects.

As in ``tests/queues/test_rabbitmq.py``: a worker process is SIGKILLed mid-run, or the broker
is restarted mid-run. Here both actors are idempotent, with their inbox in Azure Table storage
on Azurite (shared across processes: an in-memory inbox dies with its process). The broker
redelivers what the dead worker held, and a restart loses leases; the inbox turns those
redeliveries into re-publications of the recorded events, which the downstream inbox filters,
so every job's side effect (its tally) happens exactly once.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from beehive import Event
from beehive.inbox import Inbox
from beehive.queues import QueueOperator
from tests.azurite import Azurite
from tests.queues.rabbitmq_support import (
    rabbitmq_backend,
    rabbitmqctl,
    start_worker,
)
from tests.reliability.rabbitmq_inbox_worker import azure_inbox, tally_host, worker_host
from tests.reliability.support import until

pytest.importorskip("aio_pika")
JOBS, PARALLELISM = 200, 4


@pytest.fixture
async def rabbit() -> AsyncIterator[QueueOperator]:
    async with rabbitmq_backend() as operator:
        yield operator


@pytest.fixture
def prefix() -> str:
    return f"inbox{uuid4().hex[:10]}"


@pytest.fixture
async def inbox(azurite: Azurite, prefix: str) -> AsyncIterator[Inbox]:
    """An inbox in its own Azure tables, shared by this process and the worker's."""
    shared = azure_inbox(azurite.connection_string, prefix)
    yield shared
    async for record in shared.store.list():
        await shared.store.delete(record.id)
    await shared.store.close()  # type: ignore[attr-defined]


def names() -> tuple[str, str, str]:
    suffix = uuid4().hex[:8]
    return f"Job_{suffix}", f"Job_{suffix}-Work", f"Done_{suffix}"


def jobs(topic: str, done: str) -> list[Event]:
    return [Event(event_type=topic, body=str(i), properties={"done": done}) for i in range(JOBS)]


def start_inbox_worker(source: str, connection: str, prefix: str) -> subprocess.Popen[str]:
    module = "tests.reliability.rabbitmq_inbox_worker"
    return start_worker(module, source, str(PARALLELISM), connection, prefix)


@pytest.mark.slow
async def test_a_worker_killed_mid_run_makes_no_duplicate_side_effect(
    rabbit: QueueOperator, inbox: Inbox, azurite: Azurite, prefix: str
) -> None:
    topic, source, done = names()
    await rabbit.setup_queue(source)
    await rabbit.setup_queue(f"{done}-Tally")
    await rabbit.push_batch(jobs(topic, done))
    tallies: Counter[str] = Counter()

    async with tally_host(rabbit, f"{done}-Tally", inbox, tallies) as tally:
        worker = await asyncio.to_thread(
            start_inbox_worker, source, azurite.connection_string, prefix
        )
        try:
            await until(lambda: len(tallies) >= 40, timeout=30, what="40 jobs done")
            worker.send_signal(signal.SIGKILL)
        finally:
            worker.kill()
            await asyncio.to_thread(worker.communicate)
        assert len(tallies) < JOBS, "the worker finished before it was killed"

        async with (
            rabbitmq_backend() as operator,
            worker_host(operator, source, PARALLELISM, inbox) as survivor,
        ):
            await until(lambda: len(tallies) == JOBS, timeout=60, what="every job tallied")
            await until(
                lambda: work_settled(survivor, tally), timeout=30, what="redeliveries settled"
            )
            (work,) = survivor.stats().values()
        (counted,) = tally.stats().values()

    assert tallies == {str(i): 1 for i in range(JOBS)}, "each job's side effect exactly once"
    print(
        f"killed worker, inbox on: {work.duplicates} redelivered jobs recognised, "
        f"{counted.duplicates} duplicate Done events filtered"
    )


def work_settled(*hosts: object) -> bool:
    return all(
        s.in_flight == 0
        for host in hosts
        for s in host.stats().values()  # type: ignore[attr-defined]
    )


@pytest.mark.slow
async def test_a_broker_restart_mid_run_makes_no_duplicate_side_effect(
    rabbit: QueueOperator, inbox: Inbox
) -> None:
    topic, source, done = names()
    await rabbit.setup_queue(source)
    await rabbit.setup_queue(f"{done}-Tally")
    await rabbit.push_batch(jobs(topic, done))
    tallies: Counter[str] = Counter()

    async with rabbitmq_backend() as operator:
        work_host = worker_host(operator, source, PARALLELISM, inbox)
        tally = tally_host(operator, f"{done}-Tally", inbox, tallies)
        async with work_host, tally:
            await until(lambda: len(tallies) >= 30, timeout=30, what="30 jobs done")
            try:
                await asyncio.to_thread(rabbitmqctl, "stop_app")
            finally:
                await asyncio.to_thread(rabbitmqctl, "start_app")
            await asyncio.to_thread(rabbitmqctl, "await_startup")
            await until(lambda: len(tallies) == JOBS, timeout=90, what="every job tallied")
            await until(
                lambda: work_settled(work_host, tally), timeout=30, what="nothing in flight"
            )
            (work,) = work_host.stats().values()
            (counted,) = tally.stats().values()

    assert tallies == {str(i): 1 for i in range(JOBS)}, "each job's side effect exactly once"
    print(
        f"broker restart, inbox on: {work.lease_lost + counted.lease_lost} leases lost, "
        f"{work.duplicates + counted.duplicates} duplicates recognised"
    )
