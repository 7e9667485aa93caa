"""One of the processes of the contention test: hammer shared counters and one shared entity.

Run as ``python -m tests.reliability.contention_worker CONNECTION PREFIX ROUNDS``: increments
two shared counters ``ROUNDS`` times, and adds 1 to a shared entity ``ROUNDS`` times by
read-modify-update under its ETag, retrying each conflict. Prints one JSON line: how many
updates it made and how many conflicts it was told about.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime

from pydantic import BaseModel

from beehive.errors import ConcurrencyConflictError


class Shared(BaseModel):
    id: str
    count: int = 0
    etag: str | None = None
    last_modified: datetime | None = None


async def hammer(connection: str, prefix: str, rounds: int) -> dict[str, int]:
    from beehive.stores.azure import AzureCollectionStore, AzureCounterStore

    counters = AzureCounterStore.from_connection_string(connection, table_prefix=prefix)
    entities = AzureCollectionStore.from_connection_string(connection, Shared, table_prefix=prefix)
    conflicts = updates = 0
    async with counters, entities:
        for _ in range(rounds):
            await counters.increment("hits", "a")
            await counters.increment("hits", "b", by=2)
            while True:
                current = await entities.get("shared")
                try:
                    await entities.update(current.model_copy(update={"count": current.count + 1}))
                    updates += 1
                    break
                except ConcurrencyConflictError:
                    conflicts += 1
    return {"updates": updates, "conflicts": conflicts}


if __name__ == "__main__":
    connection, prefix, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run(hammer(connection, prefix, rounds))), flush=True)
