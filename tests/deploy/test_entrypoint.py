"""The image's entrypoint, ``beehive run``, from the virtual environment's console script.

Configured the way the image and infra/bicep configure it: through environment variables only.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys

from tests.cli.http import get
from tests.deploy.conftest import BIN
from tests.deploy.hosting import beehive_run, environment

DEADLINE = 20.0


def test_run_help_from_the_console_script() -> None:
    result = subprocess.run(
        [str(BIN / "beehive"), "run", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(),
    )

    assert result.returncode == 0
    assert result.stdout.startswith("usage: beehive run")


async def test_a_short_run_on_memory_answers_probes_then_stops_on_sigterm() -> None:
    process = await beehive_run(
        BEEHIVE_MODULES="tests.example_app.actors",
        BEEHIVE_CONTAINER="tests.example_app.services:Container",
        BEEHIVE_GRACE="5",
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(DEADLINE):
            port = 0
            while not port:
                line = json.loads(await process.stderr.readline())
                port = line.get("port", 0)
            while (await get(port, "/readyz"))[0] != 200:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            health = await get(port, "/healthz")
            metrics = await get(port, "/metrics")
            healthcheck = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "beehive.web",
                "/healthz",
                env=environment(BEEHIVE_PORT=str(port)),
            )
            healthcheck_code = await healthcheck.wait()

            process.send_signal(signal.SIGTERM)
            code = await process.wait()
            rest = [json.loads(line) for line in (await process.stderr.read()).splitlines()]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert health == (200, "ok\n")
    assert metrics[0] == 200
    assert (
        'beehive_messages_received_total{actor="PaymentActor@OrderAccepted-Payment"' in metrics[1]
    )
    assert healthcheck_code == 0
    assert code == 0
    assert [entry["message"] for entry in rest][-1] == "stopped"
