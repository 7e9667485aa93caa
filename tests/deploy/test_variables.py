"""The variables containerapp.bicep gives every container: each is read by beehive or by the
code the guide deploys (none is set for nothing), and the guide's table says which."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from beehive.settings import field_of
from tests.deploy.conftest import ROOT
from tests.deploy.documented import GUIDE

APPLICATION = list((ROOT / "examples" / "azure-app" / "shop").glob("*.py"))
"""The guide's application."""
PRISMO = list((ROOT / "samples" / "prismo").glob("*.py"))
AZURE_IDENTITY = {"AZURE_CLIENT_ID"}
"""Read by azure-identity's DefaultAzureCredential: which managed identity to be."""


def variables(templates: dict[str, dict[str, Any]]) -> list[str]:
    settings = templates["modules/containerapp.bicep"]["variables"]["settings"]["value"]
    return [s["name"] for s in settings]


def read_by_beehive(variable: str) -> bool:
    try:
        field_of(variable)
    except KeyError:
        return False
    return variable.startswith("BEEHIVE_")


def read_by(code: list[Path], variable: str) -> bool:
    return any(f'"{variable}"' in path.read_text() for path in code)


def test_every_variable_a_container_gets_is_read_by_someone(
    templates: dict[str, dict[str, Any]],
) -> None:
    unread = [
        name
        for name in variables(templates)
        if not (
            read_by_beehive(name) or read_by(APPLICATION + PRISMO, name) or name in AZURE_IDENTITY
        )
    ]

    assert unread == []


def guide_table() -> dict[str, str]:
    """The guide's table of the containers' variables: variable → who reads it."""
    rows = re.findall(r"^\| `([A-Z_]+)` \| .+? \| (.+?) \|$", GUIDE.read_text(), re.M)
    return dict(rows)


def test_the_guide_lists_each_variable_with_who_reads_it(
    templates: dict[str, dict[str, Any]],
) -> None:
    table = guide_table()

    assert list(table) == variables(templates)
    for name, reader in table.items():
        assert ("beehive" in reader) == read_by_beehive(name), (name, reader)
        assert ("your container" in reader) == read_by(APPLICATION, name), (name, reader)
        assert ("azure-identity" in reader) == (name in AZURE_IDENTITY), (name, reader)
