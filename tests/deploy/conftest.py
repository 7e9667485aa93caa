from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
BICEP = ROOT / "infra" / "bicep"
BIN = Path(sys.executable).parent
"""The virtual environment's scripts: beehive, hadolint."""


@pytest.fixture(scope="session")
def templates() -> dict[str, dict[str, Any]]:
    """Every .bicep file under infra/, parsed (a syntax error fails here), by path."""
    parser = BicepParser(cache=False)
    return {
        str(path.relative_to(BICEP)): dict(parser.parse(file_path=path))
        for path in sorted(BICEP.rglob("*.bicep"))
    }


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov, in .venv-tools (its pins conflict with the project's own test tools)."""
    subprocess.run(["bash", "-c", "source scripts/_tools.sh"], cwd=ROOT, check=True, timeout=600)
    return ROOT / ".venv-tools" / "bin" / "checkov"


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
