"""The container image: hadolint clean, built the way the issue asks, entrypoint that works."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib

from tests.deploy.conftest import BIN, ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions(name: str) -> list[str]:
    """The arguments of every ``name`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [m.group(1).strip() for m in re.finditer(rf"^{name}\s+(.*)$", joined, re.MULTILINE)]


def test_hadolint_finds_nothing_at_all() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), "--failure-threshold", "style", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_two_stages_on_a_pinned_slim_python() -> None:
    (image,) = [arg.split("=", 1)[1] for arg in instructions("ARG") if arg.startswith("PYTHON_")]

    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", image)
    assert instructions("FROM") == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    # the final stage takes the installed environment, not the build tools
    assert "--from=build /opt/beehive /opt/beehive" in instructions("COPY")


def test_the_package_is_installed_from_its_wheel_with_extras() -> None:
    (install,) = [run for run in instructions("RUN") if "python -m build --wheel" in run]

    assert "\"$(find /wheels -name '*.whl')[${EXTRAS}]\"" in install
    assert "ARG EXTRAS=azure,rabbitmq" in DOCKERFILE


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
    assert json.loads(entrypoint) == ["beehive", "run"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["beehive"] == "beehive.cli:main"


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()

    assert ignored[1] == "*"  # everything, then the few paths the build copies
    allowed = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "beehive", "samples"}
