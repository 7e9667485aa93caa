"""One settings model for every BEEHIVE_ variable: types, defaults, errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from beehive import settings
from beehive.settings import Settings, field_of, get, read, variable

PACKAGE = Path(__file__).resolve().parents[1] / "beehive"


def test_every_variable_the_package_names_is_a_field_of_the_model() -> None:
    named = {
        match
        for path in PACKAGE.rglob("*.py")
        for match in re.findall(r"\bBEEHIVE_[A-Z][A-Z0-9_]*[A-Z0-9]\b", path.read_text())
    }
    named -= {"BEEHIVE_ACTOR"}  # the prefix of the per-actor variables: the field 'actor'

    assert named, "the package names its variables"
    missing = sorted(name for name in named if not _is_field(name))
    assert missing == []
    assert "actor" in Settings.model_fields


def _is_field(name: str) -> bool:
    try:
        return variable(field_of(name)) == name
    except KeyError:
        return False


def test_every_field_is_described() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_variables_are_typed_and_lists_split_on_commas_or_spaces() -> None:
    found = read(
        ["modules", "except_", "port", "dashboard", "log_level", "rabbitmq_url"],
        environ={
            "BEEHIVE_MODULES": "shop.actors, shop.audit billing",
            "BEEHIVE_EXCEPT": "Audit",
            "BEEHIVE_PORT": "9000",
            "BEEHIVE_DASHBOARD": "yes",
            "BEEHIVE_LOG_LEVEL": "debug",
            "BEEHIVE_RABBITMQ_URL": "amqp://guest:guest@127.0.0.1/",
        },
    )

    assert found["modules"] == ["shop.actors", "shop.audit", "billing"]
    assert found["except_"] == ["Audit"]
    assert (found["port"], found["dashboard"], found["log_level"]) == (9000, True, "DEBUG")
    assert isinstance(found["rabbitmq_url"], SecretStr)
    assert "guest" not in repr(found["rabbitmq_url"]), "a secret never shows"


def test_given_values_win_over_variables_which_win_over_defaults() -> None:
    environ = {"BEEHIVE_PORT": "9000", "BEEHIVE_GRACE": "5"}

    found = read(["port", "grace", "host"], given={"port": "7000"}, environ=environ)

    assert (found["port"], found["grace"], found["host"]) == (7000, 5.0, "127.0.0.1")


def test_only_the_fields_asked_for_are_read() -> None:
    assert read(["host"], environ={"BEEHIVE_PORT": "not a port"}) == {"host": "127.0.0.1"}
    with pytest.raises(ValidationError, match="port"):
        read(["port"], environ={"BEEHIVE_PORT": "not a port"})


def test_a_secret_is_unwrapped_for_the_code_that_uses_it() -> None:
    assert get("dashboard_token", {"BEEHIVE_DASHBOARD_TOKEN": "t0k3n"}) == "t0k3n"
    assert get("dashboard_token", {}) is None


def test_the_default_binding_is_local() -> None:
    assert Settings.model_fields["host"].default == "127.0.0.1"
    assert settings.variable("poll_wait") == "BEEHIVE_POLL_WAIT"
