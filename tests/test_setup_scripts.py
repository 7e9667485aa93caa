"""``scripts/prismo``'s first run, as a newcomer meets it: the set-up it does before the sample.

Interrupted while it installs (Ctrl-C), it says so in one line and exits 130, as the sample
itself does once it runs: no pip traceback, no second line.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_an_interrupted_first_install_is_one_line_and_exit_code_130(tmp_path: Path) -> None:
    clone = tmp_path / "clone"  # the working tree as it is, without what set-ups made
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".*", "node_modules", "site"))
    run = subprocess.Popen(
        ["scripts/prismo"],
        cwd=clone,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
    )
    assert run.stderr is not None
    progress = []
    while not (line := run.stderr.readline()).startswith("  collecting"):
        assert line, f"the set-up ended before installing anything: {progress}"
        progress.append(line)
    os.killpg(run.pid, signal.SIGINT)  # pip is at work now: the first package is coming
    _, rest = run.communicate(timeout=120)

    assert run.returncode == 130
    lines = [line for line in rest.splitlines() if not line.startswith("  ")]
    assert lines == ["scripts: interrupted while setting up .venv; run it again to finish"]
