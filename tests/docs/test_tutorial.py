"""The tutorial's commands, run as a newcomer runs them in the project the tutorial builds:
``beehive graph`` draws the diagram the page shows; ``beehive run --dashboard`` serves the
dashboard, takes the event ``beehive send`` gives it (and refuses a bad body or a missing
token), shows it in the dashboard's counts, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cli.http import get
from tests.docs.test_examples import DOCS, blocks, run_page

TUTORIAL = DOCS / "tutorial.md"
BEEHIVE = str(Path(sys.executable).parent / "beehive")
TOKEN = "my-secret-token"
ORDER = '{"order_id": "o-1", "amount": 25.0}'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shop project, with the files the tutorial saves."""
    for name in [n for n in os.environ if n.startswith("BEEHIVE_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    run_page(TUTORIAL, tmp_path)
    return tmp_path


def test_beehive_graph_draws_the_diagram_the_tutorial_shows(project: Path) -> None:
    [diagram] = [b.code for b in blocks(TUTORIAL) if b.language == "mermaid"]
    drawn = subprocess.run(
        [BEEHIVE, "graph", "shop.actors"], cwd=project, capture_output=True, text=True, check=True
    )
    assert drawn.stdout.strip() == diagram.strip()


async def _line(stream: asyncio.StreamReader | None, pattern: str) -> re.Match[str]:
    assert stream is not None
    while True:
        line = (await stream.readline()).decode()
        assert line, f"the host ended before printing {pattern!r}"
        if found := re.search(pattern, line):
            return found


async def _send(project: Path, body: str, *, token: str | None, port: int) -> int:
    env = {k: v for k, v in os.environ.items() if k != "BEEHIVE_DASHBOARD_TOKEN"}
    if token:
        env["BEEHIVE_DASHBOARD_TOKEN"] = token
    url = f"http://127.0.0.1:{port}"
    sender = await asyncio.create_subprocess_exec(
        *(BEEHIVE, "send", "OrderPlaced", body, "--to", url), cwd=project, env=env
    )
    return await asyncio.wait_for(sender.wait(), timeout=60)


@pytest.fixture
async def host(project: Path) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """``beehive run shop.actors --dashboard`` with the tutorial's token, on a free port."""
    env = {**os.environ, "BEEHIVE_DASHBOARD_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    process = await asyncio.create_subprocess_exec(
        *(BEEHIVE, "run", "shop.actors", "--dashboard", "--port", "0"),
        cwd=project,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(60):
            found = await _line(process.stderr, r"dashboard on http://127\.0\.0\.1:(\d+)/")
            port = int(found[1])
            while (await get(port, "/readyz"))[0] != 200:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        yield process, port
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0


async def test_beehive_send_reaches_the_running_host_and_its_dashboard(
    project: Path, host: tuple[asyncio.subprocess.Process, int]
) -> None:
    process, port = host
    status, page = await get(port, "/")
    assert status == 200
    assert "<html" in page.lower()

    assert await _send(project, ORDER, token=TOKEN, port=port) == 0
    async with asyncio.timeout(30):
        await _line(process.stdout, r"email: order o-1 is confirmed \(C-o-1\)")

    status, body = await get(port, "/api/state")
    assert status == 200
    counts = {a["actor"]: a["succeeded"] for a in json.loads(body)["actors"]}
    assert counts == {"ConfirmOrder": 1, "EmailCustomer": 1}


async def test_beehive_send_refuses_a_bad_body_and_a_missing_token(
    project: Path, host: tuple[asyncio.subprocess.Process, int]
) -> None:
    _, port = host
    assert await _send(project, '{"order_id": "o-2"}', token=TOKEN, port=port) == 2
    assert await _send(project, ORDER, token=None, port=port) != 0
    status, body = await get(port, "/api/state")
    assert status == 200
    assert all(a["received"] == 0 for a in json.loads(body)["actors"])
