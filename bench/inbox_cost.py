"""What the idempotent inbox costs per message: one read and one write, and, for an exclusive
actor, a claim (a lock taken and released) on top; measured on every store backend.

Runs the same one-actor host (each event in, one event out) with the actor not idempotent,
then idempotent, then idempotent and exclusive, with the inbox and its claims in memory, in
Azure Table and Blob storage (when Azurite runs, or ``--azure`` gives a connection string) and
in PostgreSQL (when ``--postgres``, default the local server, answers); prints messages per
second, the per-message overhead and the ratio against no inbox. Azure and PostgreSQL runs are
short: each message is several round trips.

    .venv/bin/python bench/inbox_cost.py [--events 20000] [--store-events 500]
        [--azure "DefaultEndpointsProtocol=http;..."] [--postgres postgresql://...] [--workers 8]
        [--rounds 5] [--memory-only]

The in-memory contenders run interleaved (no inbox, inbox, inbox + claims, then again) and
the report gives the cost added per message (CPU time, and wall time) per round.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from functools import partial
from pathlib import Path
from uuid import uuid4

from beehive import ActorDescriptor, ActorHost, Event
from beehive.claims import Claims
from beehive.inbox import Inbox, InboxRecord
from beehive.queues import InMemoryQueueOperator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _rounds import Contender, Sample, interleave, measure, median, report  # noqa: E402


class Echo:
    async def process(self, event: Event) -> list[Event]:
        return [Event(event_type="Echoed", body=event.body)]


async def run(events: int, workers: int, inbox: Inbox | None, exclusive: bool = False) -> float:
    """Seconds to process ``events`` events, once they are all queued."""
    operator = InMemoryQueueOperator()
    descriptor = ActorDescriptor(
        Echo,
        "Ping-Echo",
        parallelism=workers,
        emits=("Echoed",),
        idempotent=inbox is not None,
        exclusive=exclusive,
    )
    async with ActorHost(operator, [descriptor], inbox=inbox, poll_wait=1) as host:
        await operator.push_batch(
            [Event(event_type="Ping", body='{"n": 1}') for _ in range(events)]
        )
        started = time.perf_counter()
        await operator.wait_idle(timeout=600)
        elapsed = time.perf_counter() - started
        (stats,) = host.stats().values()
        assert stats.succeeded == events, stats
    return elapsed


@contextmanager
def azurite() -> Iterator[str | None]:
    """Azurite on free loopback ports, in memory, while the block runs; None if not installed."""
    sys.path.insert(0, str(ROOT))
    from tests.azurite import AZURITE, Azurite, answers, free_port

    if not AZURITE.exists() or shutil.which("node") is None:
        yield None
        return
    ports = [free_port() for _ in range(3)]
    with tempfile.TemporaryDirectory(prefix="azurite-") as workdir:
        process = subprocess.Popen(
            [
                str(AZURITE),
                *("--blobHost", "127.0.0.1", "--blobPort", str(ports[0])),
                *("--queueHost", "127.0.0.1", "--queuePort", str(ports[1])),
                *("--tableHost", "127.0.0.1", "--tablePort", str(ports[2])),
                *("--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent"),
            ],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while not answers(ports[2]):
                if process.poll() is not None or time.monotonic() > deadline:
                    yield None
                    return
                time.sleep(0.05)
            yield Azurite(blob_port=ports[0], table_port=ports[2]).connection_string
        finally:
            process.terminate()
            process.wait(timeout=10)


def contender(events: int, run: Callable[[], Coroutine[None, None, float]]) -> Sample:
    """One run: its wall time is the processing's (from all queued to idle), its CPU time
    the whole run's (host start and stop included)."""
    return measure(events, lambda: asyncio.run(run()))


def added(runs: list[Contender], baseline: Contender) -> None:
    """Each contender's cost per message above the baseline's, per round (CPU, then wall)."""
    for each in runs:
        if each is baseline:
            continue
        pairs = list(zip(baseline.samples, each.samples, strict=True))
        cpu = [o.cpu_us - b.cpu_us for b, o in pairs]
        wall = [o.wall_us - b.wall_us for b, o in pairs]
        print(
            f"  {each.name}: +{median(cpu):,.1f} us/msg cpu (min +{min(cpu):,.1f}), "
            f"+{median(wall):,.1f} us/msg wall; per round cpu "
            f"{' '.join(f'+{c:,.1f}' for c in cpu)}"
        )


def main() -> None:
    # Echoed has no subscription: the broker drops each one with a warning we do not measure.
    logging.getLogger("beehive.queues").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--store-events", type=int, default=500)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 3)")
    parser.add_argument("--azure", help="a Storage connection string (else Azurite)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--memory-only", action="store_true", help="skip Azure and PostgreSQL")
    args = parser.parse_args()

    n, workers = args.events, args.workers
    print(f"python {sys.version.split()[0]}, one actor, {workers} workers")
    runs = interleave(
        [
            ("no inbox", partial(contender, n, partial(run, n, workers, None))),
            *(
                (
                    f"in-memory inbox{EXCLUSIVE[exclusive]}",
                    partial(contender, n, partial(memory_run, n, workers, exclusive)),
                )
                for exclusive in (False, True)
            ),
        ],
        args.rounds,
    )
    report(runs, unit="msg", title=f"{n:,} messages, {args.rounds} interleaved rounds:")
    added(runs, runs[0])

    if args.memory_only:
        return
    with azurite() as emulator:
        store_cost("Azure", azure_stores(args.azure or emulator), args)
    store_cost("PostgreSQL", postgres_stores(args.postgres), args)


async def memory_run(events: int, workers: int, exclusive: bool) -> float:
    return await run(events, workers, Inbox.in_memory(), exclusive)


EXCLUSIVE = {False: "", True: " + claims"}
Stores = Callable[[], AbstractAsyncContextManager[Inbox]]


def store_cost(name: str, stores: Stores | None, args: argparse.Namespace) -> None:
    """No inbox, the inbox, then the inbox and claims in one backend's stores (fresh ones for
    each run), interleaved over 3 rounds of ``--store-events`` messages."""
    if stores is None:
        print(f"{name} inbox: skipped (no server answers)")
        return
    n, workers = args.store_events, args.workers

    async def measured(exclusive: bool) -> float:
        async with stores() as inbox:
            return await run(n, workers, inbox, exclusive)

    runs = interleave(
        [
            ("no inbox", partial(contender, n, partial(run, n, workers, None))),
            *(
                (f"{name} inbox{EXCLUSIVE[e]}", partial(contender, n, partial(measured, e)))
                for e in (False, True)
            ),
        ],
        3,
    )
    report(runs, unit="msg", title=f"{name}, {n:,} messages, 3 interleaved rounds:")
    added(runs, runs[0])


def azure_stores(connection: str | None) -> Stores | None:
    if connection is None:
        return None
    from beehive.stores.azure import AzureCollectionStore, AzureLockStore

    @asynccontextmanager
    async def stores() -> AsyncIterator[Inbox]:
        prefix = f"bench{uuid4().hex[:10]}"
        records = AzureCollectionStore.from_connection_string(
            connection, InboxRecord, table_prefix=prefix
        )
        locks = AzureLockStore.from_connection_string(
            connection, container=prefix, poll_interval=0.05
        )
        async with records, locks:
            yield Inbox(records, claims=Claims(locks))

    return stores


def postgres_stores(dsn: str) -> Stores | None:
    import psycopg

    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.OperationalError:
        return None
    from beehive.stores.postgres import PostgresCollectionStore, PostgresLockStore

    @asynccontextmanager
    async def stores() -> AsyncIterator[Inbox]:
        schema = f"bench_{uuid4().hex[:10]}"
        records = PostgresCollectionStore(dsn, InboxRecord, schema=schema)
        locks = PostgresLockStore(dsn, schema=schema, poll_interval=0.05)
        try:
            async with records, locks:
                yield Inbox(records, claims=Claims(locks))
        finally:
            async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
                await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())

    return stores


if __name__ == "__main__":
    main()
