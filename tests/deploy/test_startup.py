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
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from tests.deploy.conftest import BIN, ROOT
from tests.deploy.hosting import beehive_run, environment
from tests.required import unavailable

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


ENTRYPOINT: list[str] = json.loads(
    re.findall(r"^ENTRYPOINT (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)[-1]
)
"""The image's entrypoint, as its Dockerfile says."""

_STARTING = """import sys, time
print("python starting", file=sys.stderr, flush=True)
time.sleep(3600)
"""


def _namespaces_problem() -> str | None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "a PID namespace of its own needs root and unshare"
    if not Path("/usr/bin/tini").exists():
        return "/usr/bin/tini missing (scripts/_debian.sh installs it)"
    return None


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def test_sigterm_before_python_has_loaded_beehive_stops_the_container(
    tmp_path: Path,
) -> None:
    """The image's entrypoint as PID 1 of a PID namespace of its own, as in a container.

    Until Python has loaded beehive the host has no handler, and a PID 1 without one ignores
    SIGTERM until SIGKILL ends the grace period. A ``sitecustomize`` that never returns holds
    the process in that window; the image's init passes the signal on to the host, whose
    default action ends it at once.
    """
    problem = _namespaces_problem()
    if problem:
        unavailable(problem)
    (tmp_path / "sitecustomize.py").write_text(_STARTING)
    process = await asyncio.create_subprocess_exec(
        "unshare",
        "--pid",
        "--fork",
        "--kill-child",
        *ENTRYPOINT,
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
        env=environment(
            PATH=f"{BIN}:/usr/bin:/bin",
            PYTHONPATH=str(tmp_path),
            BEEHIVE_MODULES="tests.deploy.slow_start",
        ),
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(DEADLINE):
            line = await process.stderr.readline()
            (init,) = _children(process.pid)  # PID 1 inside the namespace
            os.kill(init, signal.SIGTERM)
            code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()  # --kill-child takes the namespace's processes along
            await process.wait()

    assert line == b"python starting\n"
    assert code == 128 + signal.SIGTERM
