"""A newcomer's install: ``python -m build`` makes an sdist and a wheel without a warning, and
the wheel, installed into a fresh virtual environment, gives ``import beehive``, the
``beehive`` command and every extra."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, built from the sdist as ``python -m build`` does, and the build's output.

    ``--no-isolation`` builds with the hatchling installed by the dev extra, offline.
    """
    dist = tmp_path_factory.mktemp("dist")
    output = _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, ROOT, cwd=ROOT)
    [wheel] = dist.glob("*.whl")
    assert len(list(dist.glob("*.tar.gz"))) == 1
    return wheel, output


@pytest.fixture(scope="module")
def venv(built: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and its dependencies, nothing else."""
    wheel, _ = built
    home = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", home / "venv", cwd=home)
    python = home / "venv" / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", wheel, cwd=home)
    return home / "venv"


def test_the_build_makes_an_sdist_and_a_wheel_without_warnings(built: tuple[Path, str]) -> None:
    wheel, output = built
    assert "warning" not in output.lower(), output
    assert wheel.name == f"beehive_actors-{PROJECT['version']}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert "beehive/py.typed" in names
    assert "beehive/dashboard/static/index.html" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert not any(name.startswith(("tests/", "samples/", "docs/")) for name in names)


def test_the_wheel_imports_and_runs_the_command_from_a_fresh_venv(
    venv: Path, tmp_path: Path
) -> None:
    check = (
        "import beehive, beehive.testing, beehive.dashboard, importlib.resources as r; "
        "print(beehive.__file__); "
        "print(r.files('beehive.dashboard').joinpath('static/index.html').is_file())"
    )
    out = _run(venv / "bin" / "python", "-c", check, cwd=tmp_path).split()
    assert out[0].startswith(str(venv)), "beehive must come from the installed wheel"
    assert out[1] == "True"
    version = _run(venv / "bin" / "beehive", "--version", cwd=tmp_path)
    assert version.strip() == f"beehive {PROJECT['version']}"


def test_the_wheel_declares_every_extra_as_pyproject_does(built: tuple[Path, str]) -> None:
    wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(name).decode())
    extras = PROJECT["optional-dependencies"]
    assert set(metadata.get_all("Provides-Extra") or []) == set(extras)
    assert metadata["License-Expression"] == "MIT"
    for extra, requirements in extras.items():
        declared = {
            r.split(";")[0].strip().replace(" ", "")
            for r in metadata.get_all("Requires-Dist") or []
            if f"extra == '{extra}'" in r or f'extra == "{extra}"' in r
        }
        assert declared == {r.replace(" ", "") for r in requirements}, extra


def test_every_extra_resolves_for_the_wheel(
    built: tuple[Path, str], venv: Path, tmp_path: Path
) -> None:
    wheel, _ = built
    extras = ",".join(e for e in PROJECT["optional-dependencies"] if e != "dev")
    report = tmp_path / "report.json"
    _run(
        *(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install"),
        *("--dry-run", "--quiet", "--report", report, f"{wheel}[{extras}]"),
        cwd=tmp_path,
    )
    resolved = {
        item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]
    }
    assert {"aio-pika", "azure-servicebus", "opentelemetry-api", "mkdocs-material"} <= resolved


def test_the_readme_lists_every_extra_with_what_it_brings() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `([\w-]+)` \| ([^|]+) \|", readme, re.MULTILINE)
    listed = {extra: {name.strip() for name in brings.split(",")} for extra, brings in rows}
    extras = PROJECT["optional-dependencies"]
    assert set(listed) >= set(extras)
    for extra, requirements in extras.items():
        names = {re.split(r"[<>=!~\[ ;]", r)[0] for r in requirements}
        if extra == "dev":  # "... and the other test tools"
            assert {n.split(" and ")[0] for n in listed[extra]} <= names
        else:
            assert listed[extra] == names, extra
