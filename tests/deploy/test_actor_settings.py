"""Per-actor settings reach the deployed apps: the file ``beehive topology --config`` read is
the one every container reads (BEEHIVE_CONFIG), so an app runs exactly the sources its scale
rules and the deployed subscriptions were made for."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from beehive.cli import main
from tests.deploy.hosting import container_settings, environment, start_then_stop

CONFIG = "tests/deploy/tracing_in_part.toml"
"""Relative, as the image's working directory (/app) holds the application's package."""
PRISMO = ["samples.prismo.actors", "--container", "samples.prismo.container:deployed"]


def parameters(tmp_path: Path, *options: str) -> dict[str, Any]:
    output = tmp_path / "parameters.json"
    argv = ["topology", *PRISMO, *options, "--format", "bicep", "--output", str(output)]
    assert main(argv) == 0
    found: dict[str, Any] = json.loads(output.read_text())["parameters"]
    return found


async def test_an_app_runs_the_sources_its_settings_leave_it(
    templates: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    given = parameters(tmp_path, "--config", CONFIG)
    (tracing,) = [g for g in given["groups"]["value"] if g["name"] == "tracing"]
    settings = container_settings(templates, given, tracing)

    code, messages = await start_then_stop(settings)

    assert settings["BEEHIVE_CONFIG"] == CONFIG
    assert code == 0, messages
    running = next(m for m in messages if m.startswith("running ")).split(": ", 1)[1]
    read = {name.split("@", 1)[1].lower() for name in running.split(", ")}
    rules = {rule["name"] for rule in tracing["scaleRules"]}
    assert read == rules
    assert "orderaccepted-trace" not in rules


def test_without_a_file_the_apps_read_none(
    templates: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    given = parameters(tmp_path)
    (group, *_) = given["groups"]["value"]

    assert "config" not in given
    assert container_settings(templates, given, group)["BEEHIVE_CONFIG"] == ""


def test_settings_from_variables_are_refused_for_a_deployment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """They would shape the scale rules here and never reach the apps."""
    for name, value in environment(BEEHIVE_ACTOR__TracingActor__PARALLELISM="2").items():
        monkeypatch.setenv(name, value)
    argv = ["topology", *PRISMO, "--format", "bicep", "--output", str(tmp_path / "p.json")]

    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "beehive: error: per-actor settings from BEEHIVE_ACTOR__ variables "
        "(TracingActor) do not reach the deployed apps: put them in a TOML file in your "
        "package and give it with --config, which every app then reads (BEEHIVE_CONFIG)\n"
    )
    assert not (tmp_path / "p.json").exists()


def test_a_file_the_apps_cannot_find_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absolute = str(Path(CONFIG).resolve())
    argv = ["topology", *PRISMO, "--config", absolute, "--format", "bicep"]

    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"beehive: error: --config {absolute!r}: give the file relative to the directory "
        "holding your package (the image's /app), where every app looks for it\n"
    )
