"""The configuration reference is generated from the code and lists everything it reads."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "docs_reference_hook", ROOT / "docs/_hooks/reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module
    spec.loader.exec_module(module)
    return module


reference = _hook()

# A variable named in the code: BEEHIVE_X literally, or f"{ENV_PREFIX}X".
VARIABLE = re.compile(r"(?:BEEHIVE_|\{ENV_PREFIX\})([A-Z][A-Z0-9_]*[A-Z0-9])")


def test_every_variable_the_package_reads_is_in_the_reference() -> None:
    named = {
        "BEEHIVE_" + match
        for path in (ROOT / "beehive").rglob("*.py")
        for match in VARIABLE.findall(path.read_text())
    }
    documented = set(reference.environment())
    per_actor = {n for n in named if n.startswith("BEEHIVE_ACTOR")}  # BEEHIVE_ACTOR__<Class>__...
    assert named - per_actor <= documented
    assert "BEEHIVE_ACTOR__<Class>__<SETTING>" in documented


def test_every_option_of_every_command_is_in_the_reference() -> None:
    from beehive.cli import parser

    table = reference.commands_markdown()
    commands = {c.name for c in reference.commands()}
    assert {"beehive run", "beehive topology", "beehive graph", "beehive trace"} <= commands
    assert {"beehive dlq list", "beehive dlq replay"} <= commands
    run = parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    for action in run._actions:
        for flag in action.option_strings:
            if flag not in ("-h", "--help"):
                assert f"`{flag}" in table


def test_defaults_are_the_codes_not_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEEHIVE_PORT", "9999")
    run = next(c for c in reference.commands() if c.name == "beehive run")
    port = next(a for a in run.arguments if a.names.startswith("--port"))
    assert (port.variable, port.default) == ("BEEHIVE_PORT", "8080")
    assert "9999" not in reference.commands_markdown()


def test_actor_settings_come_with_type_default_and_meaning() -> None:
    from beehive.settings import ActorSettings

    rows = {
        name: (kind, default, meaning)
        for name, kind, default, meaning in reference.actor_settings()
    }
    assert set(rows) == set(ActorSettings.model_fields)
    assert rows["parallelism"][:2] == ("int", "1")
    assert all(meaning for _, _, meaning in rows.values())


def test_the_markers_are_replaced_on_the_pages_that_hold_them() -> None:
    for page in ("reference/cli.md", "reference/configuration.md"):
        text = (ROOT / "docs" / page).read_text()
        rendered = reference.on_page_markdown(text, page=None, config=None, files=None)
        assert "<!-- beehive:" in text
        assert "<!-- beehive:" not in rendered
        assert "| `BEEHIVE_" in rendered or "`BEEHIVE_BACKEND`" in rendered


PAGES_WITH_SETTINGS = ("README.md", "docs/how-to/operate.md")
NOT_THE_HOSTS = {
    "BEEHIVE_ACTOR",  # the prefix of the per-actor variables (the field 'actor')
    "BEEHIVE_TEST_POSTGRES_DSN",  # the suite's
    "BEEHIVE_TEST_SERVICEBUS",  # the suite's
    "BEEHIVE_IMAGE",  # a Dockerfile build argument of the Azure example
    "BEEHIVE_STORAGE_BLOB_ENDPOINT",  # the Azure example's container reads it, not the host
}


@pytest.mark.parametrize(
    "page",
    ["README.md", *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").rglob("*.md")))],
)
def test_pages_name_only_variables_the_model_has(page: str) -> None:
    from beehive.settings import field_of, variable

    named = set(re.findall(r"\bBEEHIVE_[A-Z][A-Z0-9_]*[A-Z0-9]\b", (ROOT / page).read_text()))

    def is_field(name: str) -> bool:
        try:
            return variable(field_of(name)) == name
        except KeyError:
            return False

    assert sorted(name for name in named - NOT_THE_HOSTS if not is_field(name)) == []


@pytest.mark.parametrize("page", PAGES_WITH_SETTINGS)
def test_pages_list_every_per_actor_setting(page: str) -> None:
    from beehive.settings import ActorSettings

    text = (ROOT / page).read_text()

    assert [name for name in ActorSettings.model_fields if f"`{name}`" not in text] == []
