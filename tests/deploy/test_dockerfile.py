"""The container image: hadolint clean, reproducible, small, with an entrypoint that works."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement

from tests.deploy.conftest import BIN, ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    """The arguments of every ``name`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.*)$", joined, re.MULTILINE)]


@pytest.mark.parametrize("directory", [ROOT, ROOT / "examples" / "azure-app"])
def test_hadolint_finds_nothing_at_all(directory: Path) -> None:
    """beehive's Dockerfile, and the application Dockerfile the Azure guide builds on it."""
    result = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "style", "Dockerfile"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def _lock() -> ModuleType:
    spec = importlib.util.spec_from_file_location("image_lock", ROOT / "infra/image/lock.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lock = _lock()


def test_two_stages_on_a_slim_python_pinned_by_digest_with_its_tag_beside() -> None:
    (image,) = [arg.split("=", 1)[1] for arg in instructions("ARG") if arg.startswith("PYTHON_")]
    tag = re.search(r"^# (python:\S+)\nARG PYTHON_IMAGE=", DOCKERFILE, re.MULTILINE)

    assert re.fullmatch(r"python@sha256:[0-9a-f]{64}", image)
    assert tag is not None
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", tag.group(1))
    assert instructions("FROM") == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    # the final stage takes the installed environment, not the build tools
    assert "--from=build /opt/beehive /opt/beehive" in instructions("COPY")


def test_the_build_tools_are_pinned_and_nothing_else_is_fetched_to_build() -> None:
    pins = [
        Requirement(line)
        for line in (ROOT / "infra/image/build-requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    backend = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    pinned = {p.name: next(iter(p.specifier)).version for p in pins}

    assert all(len(p.specifier) == 1 and next(iter(p.specifier)).operator == "==" for p in pins)
    for requirement in map(Requirement, backend):
        assert pinned[requirement.name] in requirement.specifier
    assert "pip install --no-cache-dir -r infra/image/build-requirements.txt" in instructions("RUN")
    (build,) = [run for run in instructions("RUN") if "python -m build" in run]
    assert "--no-isolation" in build  # no unpinned build backend from the index


def test_the_runtime_is_installed_under_the_committed_constraints() -> None:
    (install,) = [run for run in instructions("RUN") if "python -m build" in run]
    checked = subprocess.run(
        [sys.executable, "infra/image/lock.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert "--constraint infra/image/constraints.txt" in install
    assert "\"$(find /wheels -name '*.whl')[${EXTRAS}]\"" in install
    assert checked.returncode == 0, checked.stderr
    assert all(lock.read().values())  # every line pins one version


def test_the_azure_image_carries_no_rabbitmq_client() -> None:
    azure_only = lock.closure(("azure",))

    assert "ARG EXTRAS=azure\n" in DOCKERFILE
    assert "aio-pika" not in azure_only
    assert "aiormq" not in azure_only
    assert {"azure-servicebus", "azure-data-tables", "azure-identity"} <= set(azure_only)
    assert "aio-pika" in lock.closure()  # the constraints still cover EXTRAS=rabbitmq


def test_the_final_venv_has_no_pip() -> None:
    (install,) = [run for run in instructions("RUN") if "python -m build" in run]

    assert "python -m venv --without-pip /opt/beehive" in install
    assert "pip --python /opt/beehive/bin/python install" in install
    assert "/opt/beehive/bin/pip" not in DOCKERFILE


def test_it_runs_as_a_non_root_user_with_no_secret_baked_in() -> None:
    (user,) = instructions("USER")

    assert user not in ("root", "0")
    assert not re.search(r"(?i)(key|secret|password|connection_string)\s*=", DOCKERFILE)


def test_the_image_listens_beyond_the_container_on_purpose() -> None:
    """Outside a container the endpoint binds 127.0.0.1; the image says 0.0.0.0 explicitly."""
    *_, runtime = instructions("ENV")

    assert "BEEHIVE_HOST=0.0.0.0" in runtime.split()


def test_healthcheck_and_entrypoint() -> None:
    (healthcheck,) = instructions("HEALTHCHECK")
    (entrypoint,) = instructions("ENTRYPOINT")

    assert healthcheck.endswith('CMD ["python", "-m", "beehive.web", "/healthz"]')
    # tini as PID 1 passes SIGTERM on before the host has a handler (tests/deploy/test_startup.py)
    assert json.loads(entrypoint) == ["tini", "--", "beehive", "run"]
    assert re.search(r"apt-get install -y --no-install-recommends tini=[\w.+-]+ ", DOCKERFILE)
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["beehive"] == "beehive.cli:main"


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()

    assert "*" in ignored  # everything, then the few paths the build copies
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "beehive",
        "samples",
        "infra/image",
    }
