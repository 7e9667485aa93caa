"""A mkdocs hook: the configuration reference, generated from the code so it cannot drift.

A page holding one of the markers below gets, in its place, tables built at build time:

- ``<!-- beehive:commands -->``: every ``beehive`` command with its usage and every argument
  and option, its environment variable and its default, read from ``beehive.cli.parser()``;
- ``<!-- beehive:environment -->``: every ``BEEHIVE_...`` variable: those of the options, and
  those read from the environment only (secrets and connection settings, listed below);
- ``<!-- beehive:actor-settings -->``: the per-actor settings, with their TOML key, their
  ``BEEHIVE_ACTOR__<Class>__<SETTING>`` variable, type, default and meaning, read from
  ``beehive.config.SETTINGS`` and the fields (and field docstrings) of ``ActorDescriptor``.

When settings move to other code (a pydantic-settings model, say), point ``actor_settings`` or
``environment`` at it: each returns plain rows, and ``tests/docs/test_reference.py`` checks
that every variable the package reads is documented here.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import os
import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ENV_HELP = re.compile(r"\s*\[env ([A-Z0-9_]+)\]")
DEFAULT_HELP = re.compile(r"\s*\(default: [^)]*\)(?=\s*\[env )")  # add_option's, not prose
ROLE = re.compile(r":[a-z]+:`([^`]+)`")

# Variables read from the environment only, never from an option (secrets above all).
ENVIRONMENT_ONLY: dict[str, str] = {
    "BEEHIVE_RABBITMQ_URL": "RabbitMQ URL, `amqp://user:password@host:5672/vhost`, for "
    "`--backend rabbitmq` (a secret: never on the command line, masked in every message)",
    "BEEHIVE_SERVICEBUS_CONNECTION_STRING": "Service Bus connection string for "
    "`--backend servicebus` (a secret); without it, `--servicebus-namespace` with "
    "`DefaultAzureCredential`",
    "BEEHIVE_DASHBOARD_TOKEN": "bearer token that unlocks the dashboard's write actions "
    "(replay); without it the dashboard is read-only",
    "BEEHIVE_STORAGE_CONNECTION_STRING": "Azure Storage connection string (Azurite too) of the "
    "event journal, for `beehive run --journal` and `beehive trace`",
    "BEEHIVE_STORAGE_TABLE_ENDPOINT": "Table endpoint of the event journal reached with "
    "`DefaultAzureCredential` (a managed identity), instead of a connection string",
}


@contextmanager
def _code_defaults() -> Iterator[None]:
    """Options take their defaults from BEEHIVE_ variables: document the code's, not ours."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("BEEHIVE_")}
    for name in saved:
        del os.environ[name]
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    try:
        yield
    finally:
        os.environ.update(saved)
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns


@dataclasses.dataclass(frozen=True)
class Argument:
    names: str
    variable: str
    default: str
    meaning: str


@dataclasses.dataclass(frozen=True)
class Command:
    name: str
    summary: str
    usage: str
    arguments: list[Argument]


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, Any]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def _argument(action: argparse.Action) -> Argument:
    names = ", ".join(action.option_strings) or (action.metavar or action.dest)
    if action.option_strings and action.nargs != 0:
        names += f" {action.metavar or action.dest.upper()}"
    help_text = action.help or ""
    found = ENV_HELP.search(help_text)
    meaning = DEFAULT_HELP.sub("", ENV_HELP.sub("", help_text))
    default = action.default
    shown = "" if default in (None, False, [], argparse.SUPPRESS) or action.nargs == 0 else default
    return Argument(names, found.group(1) if found else "", str(shown), meaning)


def _walk(parser: argparse.ArgumentParser, prefix: str, summary: str) -> Iterator[Command]:
    subs = _subcommands(parser)
    if not subs:
        arguments = [
            _argument(a)
            for a in parser._actions
            if not isinstance(a, argparse._HelpAction | argparse._VersionAction)
        ]
        yield Command(prefix, summary, parser.format_usage().strip(), arguments)
    for name, help_text, sub in subs:
        yield from _walk(sub, f"{prefix} {name}", help_text)


def commands() -> list[Command]:
    """Every leaf command of ``beehive`` (``beehive dlq list``, ``beehive run``, ...)."""
    from beehive.cli import parser

    with _code_defaults():
        return list(_walk(parser(), "beehive", ""))


def _cell(text: str) -> str:
    """One table cell: one line, pipes escaped, Sphinx roles as code (``:mod:`x` `` -> `x`)."""
    return ROLE.sub(r"`\1`", " ".join(text.split())).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if text else ""


def commands_markdown() -> str:
    out = []
    for command in commands():
        summary = command.summary[:1].upper() + command.summary[1:]
        out += [f"### `{command.name}`", "", f"{summary}.", ""]
        out += ["```text", command.usage.removeprefix("usage: "), "```", ""]
        out += ["| argument | environment variable | default | meaning |", "|---|---|---|---|"]
        out += [
            f"| {_code(a.names)} | {_code(a.variable)} | {_code(a.default)} | {_cell(a.meaning)} |"
            for a in command.arguments
        ]
        out.append("")
    return "\n".join(out)


def environment() -> dict[str, tuple[str, str]]:
    """Every ``BEEHIVE_...`` variable: name -> (where it is used, what it means)."""
    rows: dict[str, tuple[list[str], str]] = {}
    for command in commands():
        for argument in command.arguments:
            if argument.variable:
                used, _ = rows.setdefault(argument.variable, ([], argument.meaning))
                used.append(f"`{command.name} {argument.names.split(',')[0].split()[0]}`")
    table = {name: (", ".join(used), meaning) for name, (used, meaning) in rows.items()}
    table.update(
        {name: ("environment only", meaning) for name, meaning in ENVIRONMENT_ONLY.items()}
    )
    table["BEEHIVE_ACTOR__<Class>__<SETTING>"] = (
        "every command that loads actors",
        "a per-actor setting (see the table of per-actor settings)",
    )
    return dict(sorted(table.items()))


def environment_markdown() -> str:
    out = ["| variable | used by | meaning |", "|---|---|---|"]
    out += [
        f"| `{name}` | {used} | {_cell(meaning)} |"
        for name, (used, meaning) in environment().items()
    ]
    return "\n".join(out) + "\n"


def _field_docstrings(cls: type) -> dict[str, str]:
    """The string literal under each annotated field of a class (its attribute docstring)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    found = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            found[node.target.id] = inspect.cleandoc(after.value.value)
    return found


def actor_settings() -> list[tuple[str, str, str, str]]:
    """Each per-actor setting: (name, type, default, meaning)."""
    from beehive.actors import ActorDescriptor
    from beehive.config import SETTINGS

    fields = {f.name: f for f in dataclasses.fields(ActorDescriptor)}
    meanings = _field_docstrings(ActorDescriptor)
    return [
        (name, kind.__name__, repr(fields[name].default), meanings.get(name, ""))
        for name, kind in SETTINGS.items()
    ]


def actor_settings_markdown() -> str:
    from beehive.config import ENV_PREFIX

    out = [
        "| TOML key | environment variable | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    out += [
        f"| `{name}` | `{ENV_PREFIX}<Class>__{name.upper()}` | `{kind}` | `{default}` "
        f"| {_cell(meaning)} |"
        for name, kind, default, meaning in actor_settings()
    ]
    return "\n".join(out) + "\n"


MARKERS = {
    "<!-- beehive:commands -->": commands_markdown,
    "<!-- beehive:environment -->": environment_markdown,
    "<!-- beehive:actor-settings -->": actor_settings_markdown,
}


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs calls this for every page: replace the markers by the generated tables."""
    for marker, generate in MARKERS.items():
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    return markdown
