"""The tutorial's commands, run as a newcomer runs them in the project the tutorial builds:
``beehive graph`` draws the diagram the page shows, ``beehive run --dashboard`` serves the
dashboard and health checks and stops cleanly on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.http import get
from tests.docs.test_examples import DOCS, blocks, run_page

TUTORIAL = DOCS / "tutorial.md"
BEEHIVE = str(Path(sys.executable).parent / "beehive")


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


async def test_beehive_run_serves_the_dashboard_and_stops_on_ctrl_c(project: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        *(BEEHIVE, "run", "shop.actors", "--dashboard", "--host", "127.0.0.1", "--port", "0"),
        cwd=project,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        async with asyncio.timeout(30):
            port = 0
            while not port:
                line = (await process.stderr.readline()).decode()
                assert line, "beehive run ended before serving the dashboard"
                if found := re.search(r"dashboard on http://127\.0\.0\.1:(\d+)/", line):
                    port = int(found[1])
            while (await get(port, "/readyz"))[0] != 200:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        status, page = await get(port, "/")
        assert status == 200
        assert "<html" in page.lower()
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
