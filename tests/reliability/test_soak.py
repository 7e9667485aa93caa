"""Soak: many events through the in-memory host, with failures and stop/start cycles.

The CI variant runs 20,000 events; set ``BEEHIVE_SOAK_EVENTS=200000`` for the long run by hand
(about ten times as long)::

    BEEHIVE_SOAK_EVENTS=200000 .venv/bin/pytest tests/reliability/test_soak.py -s

Jobs go in chunks of 1,000; mid-chunk the host is stopped (in-flight messages are abandoned)
and started again. Actors fail 5% of their runs at random and are retried. Every job must be
tallied exactly once (the tally actor is idempotent, with an inbox whose records expire after
two seconds and are purged as it runs), and the process's resident memory must not grow with
the events processed: it is measured after the first chunk and at the end, and printed.
"""

from __future__ import annotations

import gc
import logging
import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from beehive import ActorDescriptor, ActorHost, Event
from beehive.inbox import Inbox
from beehive.queues import InMemoryQueueOperator
from tests.reliability.support import FAST, until

EVENTS = int(os.environ.get("BEEHIVE_SOAK_EVENTS", "20000"))
CHUNK = 1000
FAILURE_RATE = 0.05
MAX_GROWTH_MB = 20.0


def rss_mb() -> float:
    """The resident set size of this process now (Linux), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class Formatting(logging.Handler):
    """Formats every record, as a production handler would, and keeps none of them."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.format(record)
        self.records += 1


@contextmanager
def formatted_and_dropped() -> Iterator[Formatting]:
    """beehive's logs, formatted and dropped: pytest keeps captured records for its report, which
    would be the test's memory growing with events, not the host's.

    Entered in the test body: pytest attaches its capturing handler to non-propagating loggers
    when a test's call phase starts, so a fixture would be too early.
    """
    beehive = logging.getLogger("beehive")
    handler = Formatting()
    beehive.addHandler(handler)
    beehive.propagate = False
    try:
        yield handler
    finally:
        beehive.propagate = True
        beehive.removeHandler(handler)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="measures RSS on Linux")
async def test_soak_loses_nothing_and_memory_does_not_grow_with_events() -> None:
    with formatted_and_dropped() as logs:
        await soak(logs)


async def soak(logs: Formatting) -> None:
    rng = random.Random(2024)
    tallies = bytearray(EVENTS)  # one byte per job: the test's own memory stays flat too
    failures = 0

    class Work:
        async def process(self, event: Event) -> list[Event]:
            nonlocal failures
            if rng.random() < FAILURE_RATE:
                failures += 1
                raise RuntimeError("injected: the actor failed")
            return [Event(event_type="Done", body=event.body)]

    class Tally:
        async def process(self, event: Event) -> list[Event]:
            nonlocal failures
            if rng.random() < FAILURE_RATE:
                failures += 1
                raise RuntimeError("injected: the actor failed")
            tallies[int(event.body)] += 1
            return []

    operator = InMemoryQueueOperator()
    descriptors = [
        ActorDescriptor(Work, "Job-Work", parallelism=8, emits=("Done",)),
        ActorDescriptor(Tally, "Done-Tally", parallelism=8, idempotent=True),
    ]
    inbox = Inbox.in_memory(retention=timedelta(seconds=2), purge_every=timedelta(seconds=0.5))
    host = ActorHost(operator, descriptors, inbox=inbox, backoff=FAST, poll_wait=1)
    tallied = cycles = 0
    warm = 0.0
    started = time.perf_counter()
    await host.start()
    try:
        for first in range(0, EVENTS, CHUNK):
            chunk = range(first, min(first + CHUNK, EVENTS))
            await operator.push_batch([Event(event_type="Job", body=str(i)) for i in chunk])
            await until(
                lambda chunk=chunk: sum(1 for i in chunk if tallies[i]) >= len(chunk) // 2,  # type: ignore[misc]
                timeout=30,
                what="half the chunk",
            )
            await host.stop(grace=0.01)  # abandons what is still in flight
            cycles += 1
            await host.start()
            await operator.wait_idle(timeout=30)
            tallied += sum(1 for i in chunk if tallies[i])
            if first == 0:
                gc.collect()
                warm = rss_mb()
    finally:
        await host.stop()
    elapsed = time.perf_counter() - started
    gc.collect()
    end = rss_mb()

    print(
        f"\nsoak: {EVENTS} events, {cycles} stop/start cycles, {failures} injected failures, "
        f"{logs.records} log records, "
        f"{elapsed:.1f}s; RSS after the first {CHUNK}: {warm:.1f} MiB, at the end: {end:.1f} "
        f"MiB ({end - warm:+.1f} MiB)"
    )
    assert tallied == EVENTS, "nothing lost"
    assert set(tallies) == {1}, "each job tallied exactly once"
    assert failures > EVENTS * FAILURE_RATE
    assert all(dead == [] for dead in [await operator.dead_letters("Job-Work")])
    assert end - warm < MAX_GROWTH_MB, "memory grows with the events processed"
