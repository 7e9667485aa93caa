"""SIGTERM while ``beehive run`` is still starting stops it at once.

In a container the host is PID 1, for which a signal without a handler is ignored: had the
host no handler of its own until it ran, a replica stopped during a slow start (importing the
actors, connecting its resources) would wait for SIGKILL at the end of the grace period. So
the host handles SIGTERM from the start and exits 0; the tests tell a handled stop (exit 0,
"stopped while starting") from the default action (killed by the signal).
"""

from __future__ import annotations

import asyncio
import json
import signal

import pytest

from tests.deploy.hosting import beehive_run

DEADLINE = 20.0


@pytest.mark.parametrize("phase", ["import", "resources"])
async def test_sigterm_during_start_up_stops_the_host(phase: str) -> None:
    process = await beehive_run(
        SLOW_START=phase,
        BEEHIVE_MODULES="tests.deploy.slow_start",
        BEEHIVE_CONTAINER="tests.deploy.slow_start:Container",
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(DEADLINE):
            line = b""
            while not line.startswith(b"slow start:"):
                line = await process.stderr.readline()
                assert line, "the host exited before it started"
            process.send_signal(signal.SIGTERM)
            code = await process.wait()
            rest = [json.loads(line) for line in (await process.stderr.read()).splitlines()]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert line.decode().strip() == f"slow start: {phase}"
    assert code == 0
    assert [entry["message"] for entry in rest] == ["stopped while starting"]
