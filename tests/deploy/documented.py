"""The commands the deployment's documentation gives: main.bicep's header and the Azure
Container Apps guide, read as a shell would split them, so tests run what readers copy."""

from __future__ import annotations

import re
import shlex

from tests.deploy.conftest import BICEP, ROOT

GUIDE = ROOT / "docs" / "how-to" / "azure-container-apps.md"


def _commands(lines: list[str]) -> list[list[str]]:
    """Shell commands, ``\\`` continuations joined."""
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [shlex.split(line) for line in joined.splitlines() if line.strip()]


def header_commands() -> list[list[str]]:
    """The commands in main.bicep's header comment (indented under ``//``)."""
    text = (BICEP / "main.bicep").read_text()
    header = text[: text.index("\ntargetScope")]
    return _commands([m for m in re.findall(r"^//\s{2,}(.*)$", header, re.M)])


def guide_commands(section: str) -> list[list[str]]:
    """The commands of the ``sh`` blocks in the guide's section whose title starts with
    ``section``."""
    text = GUIDE.read_text()
    start = re.search(rf"^#+ {re.escape(section)}.*$", text, re.M)
    assert start is not None, f"{GUIDE.name} has no section {section!r}"
    body = re.split(r"^## ", text[start.end() :], maxsplit=1, flags=re.M)[0]
    blocks = re.findall(r"^```sh\n(.*?)^```$", body, re.M | re.S)
    return [command for block in blocks for command in _commands(block.splitlines())]


def commands(found: list[list[str]], *start: str) -> list[list[str]]:
    """The commands of ``found`` that start with the words ``start``."""
    return [c for c in found if c[: len(start)] == list(start)]


def parameters(command: list[str]) -> list[str]:
    """What an ``az deployment group create`` passes with ``-p``: files and ``NAME=VALUE``
    (one ``-p`` takes several, up to the next option)."""
    found, taking = [], False
    for word in command:
        if word.startswith("-"):
            taking = word == "-p"
        elif taking:
            found.append(word)
    return found


def parameter_values(command: list[str]) -> dict[str, str]:
    """The ``NAME=VALUE`` parameters of an ``az deployment group create``."""
    return dict(p.split("=", 1) for p in parameters(command) if "=" in p)


def parameter_files(command: list[str]) -> list[str]:
    """The parameters files of an ``az deployment group create``."""
    return [p for p in parameters(command) if "=" not in p]
