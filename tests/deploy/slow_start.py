"""An app whose start-up never finishes: ``SLOW_START=import`` blocks importing this module,
``SLOW_START=resources`` blocks initialising the container's resources. Each says so on stderr
first, so a test knows the host is starting before it sends SIGTERM."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator

from dependency_injector import containers, providers

from beehive import Event, actor

PHASE = os.environ.get("SLOW_START", "")


def _starting(phase: str) -> None:
    print(f"slow start: {phase}", file=sys.stderr, flush=True)


if PHASE == "import":
    _starting("import")
    time.sleep(3600)


@actor("Jobs")
class IdleActor:
    async def process(self, event: Event) -> list[Event]:
        return []


async def _never_ready() -> AsyncIterator[None]:
    _starting("resources")
    await asyncio.Event().wait()
    yield


class Container(containers.DeclarativeContainer):
    connection = providers.Resource(_never_ready)
