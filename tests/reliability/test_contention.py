"""Stores under contention: 4 processes on the same counters and entity, on Azurite.

Every increment counts (exact totals), every lost ETag race is reported to its writer as a
``ConcurrencyConflictError`` (which it retries), and no update is lost: the shared entity ends
at exactly the number of updates the processes made.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from tests.azurite import Azurite
from tests.reliability.contention_worker import Shared

ROOT = Path(__file__).resolve().parents[2]
PROCESSES, ROUNDS = 4, 40


def run_worker(connection: str, prefix: str) -> dict[str, int]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.reliability.contention_worker",
            connection,
            prefix,
            str(ROUNDS),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
async def test_four_processes_lose_no_increment_and_no_update(azurite: Azurite) -> None:
    from beehive.stores.azure import AzureCollectionStore, AzureCounterStore

    prefix = f"race{uuid4().hex[:10]}"
    connection = azurite.connection_string
    entities = AzureCollectionStore.from_connection_string(connection, Shared, table_prefix=prefix)
    counters = AzureCounterStore.from_connection_string(connection, table_prefix=prefix)
    async with entities, counters:
        await entities.insert(Shared(id="shared"))

        results = await asyncio.gather(
            *(asyncio.to_thread(run_worker, connection, prefix) for _ in range(PROCESSES))
        )

        assert await counters.get("hits", "a") == PROCESSES * ROUNDS
        assert await counters.get("hits", "b") == 2 * PROCESSES * ROUNDS
        shared = await entities.get("shared")
    assert all(r["updates"] == ROUNDS for r in results)
    assert shared.count == PROCESSES * ROUNDS, "no update lost"
    conflicts = sum(r["conflicts"] for r in results)
    assert conflicts > 0, "the processes never raced: the test proved nothing"
    print(f"contention: {PROCESSES} processes, {conflicts} ETag conflicts surfaced and retried")
