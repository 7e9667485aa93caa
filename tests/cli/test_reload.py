"""``beehive run --reload``: the host restarts, with the new code, when the app's files change."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ONE_ACTOR = """
from beehive import Event, actor


@actor("Ping-First")
class First:
    async def process(self, event: Event) -> list[Event]:
        return []
"""

TWO_ACTORS = (
    ONE_ACTOR
    + """

@actor("Ping-Second")
class Second(First):
    pass
"""
)
DEADLINE = 60.0


async def read_until(stream: asyncio.StreamReader, text: str) -> list[str]:
    """The lines read from ``stream`` up to the first holding ``text``."""
    lines: list[str] = []
    async with asyncio.timeout(DEADLINE):
        while text not in (lines[-1] if lines else ""):
            line = (await stream.readline()).decode()
            assert line, f"the output ended before {text!r}: {lines}"
            lines.append(line)
    return lines


async def test_the_host_restarts_with_the_new_code_when_a_file_changes(tmp_path: Path) -> None:
    app = tmp_path / "reloaded_actors.py"
    app.write_text(ONE_ACTOR)
    command = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "beehive", "run", "reloaded_actors", "--reload"),
        *("--app-dir", str(tmp_path), "--host", "127.0.0.1", "--port", "0", "--grace", "1"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
    )
    assert command.stderr is not None
    try:
        started = await read_until(command.stderr, "running 1 actors on memory: First@Ping-First")
        app.write_text(TWO_ACTORS)
        restarted = await read_until(command.stderr, "running 2 actors on memory")
    finally:
        os.killpg(command.pid, signal.SIGINT)
        code = await asyncio.wait_for(command.wait(), DEADLINE)

    assert "for development only" in "".join(started)
    assert "restarting the host: reloaded_actors.py changed" in "".join(restarted)
    assert code == 0


async def test_the_host_restarts_when_its_config_file_changes_outside_the_app_dir(
    tmp_path: Path,
) -> None:
    app_dir, settings = tmp_path / "app", tmp_path / "settings"
    app_dir.mkdir()
    settings.mkdir()
    (app_dir / "configured_actors.py").write_text(TWO_ACTORS)
    config = settings / "actors.toml"
    config.write_text("[Second]\nenabled = false\n")
    (settings / "notes.py").write_text("")  # beside the config, but not the app's
    command = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "beehive", "run", "configured_actors", "--reload"),
        *("--app-dir", str(app_dir), "--config", str(config)),
        *("--host", "127.0.0.1", "--port", "0", "--grace", "1"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert command.stderr is not None
    try:
        await read_until(command.stderr, "host started 1 actors")
        (settings / "notes.py").write_text("# edited\n")
        config.write_text("[Second]\nenabled = true\n")
        restarted = await read_until(command.stderr, "host started 2 actors")
    finally:
        os.killpg(command.pid, signal.SIGINT)
        await asyncio.wait_for(command.wait(), DEADLINE)

    restarts = [line for line in restarted if "restarting the host" in line]
    assert len(restarts) == 1
    assert "actors.toml changed" in restarts[0]
    assert "notes.py" not in restarts[0]
