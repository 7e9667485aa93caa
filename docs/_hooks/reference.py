"""A mkdocs hook: the configuration reference, generated from the code so it cannot drift.

A page holding one of the markers below gets, in its place, tables built at build time:

- ``<!-- beehive:commands -->``: every ``beehive`` command with its usage and every argument
  and option, its environment variable and its default, read from ``beehive.cli.parser()``;
- ``<!-- beehive:environment -->``: every ``BEEHIVE_...`` variable, read from the
  pydantic-settings model ``beehive.settings.Settings`` (type, default, meaning, whether it is
  a secret), with the options that set it;
- ``<!-- beehive:actor-settings -->``: the per-actor settings, read from
  ``beehive.settings.ActorSettings`` and the defaults of ``ActorDescriptor``, with their TOML
  key and ``BEEHIVE_ACTOR__<Class>__<SETTING>`` variable.

``tests/docs/test_reference.py`` checks that every variable the package names is documented.
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
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ENV_HELP = re.compile(r"\s*\[env ([A-Z0-9_]+)\]")
DEFAULT_HELP = re.compile(r"\s*\(default: [^)]*\)(?=\s*\[env )")  # add_option's, not prose
ROLE = re.compile(r":[a-z]+:`([^`]+)`")
SPHINX_ROLE = re.compile(r":(?:mod|class|func|meth|attr|data|exc|obj):(?=<code)")


@contextmanager
def _columns(width: int) -> Iterator[None]:
    """argparse wraps usage lines at ``COLUMNS``: the same width wherever the site is built."""
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


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
    from beehive import settings

    names = ", ".join(action.option_strings) or (action.metavar or action.dest)
    if action.option_strings and action.nargs != 0:
        names += f" {action.metavar or action.dest.upper()}"
    help_text = action.help or ""
    found = ENV_HELP.search(help_text)
    meaning = ENV_HELP.sub("", DEFAULT_HELP.sub("", help_text))
    default = action.default
    if found:  # the option's default is its setting's
        field = settings.Settings.model_fields.get(_field(found.group(1)) or "")
        default = field.get_default(call_default_factory=True) if field else default
    shown = (
        "" if default in (None, False, [], "", argparse.SUPPRESS) or action.nargs == 0 else default
    )
    return Argument(names, found.group(1) if found else "", str(shown), meaning)


def _field(variable: str) -> str | None:
    from beehive import settings

    try:
        return settings.field_of(variable)
    except KeyError:
        return None


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

    with _columns(100):
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


def _type(annotation: Any) -> str:
    """``str | None`` is ``str``; ``Literal['a', 'b']`` is ``a or b``; a secret is a ``str``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(_type(kind) for kind in kinds)
    if typing.get_origin(annotation) is typing.Literal:
        return " or ".join(str(value) for value in typing.get_args(annotation))
    if typing.get_origin(annotation) is typing.Annotated:
        return _type(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) is list:
        return f"list of {_type(typing.get_args(annotation)[0])}"
    return getattr(annotation, "__name__", str(annotation)).replace("SecretStr", "str")


def environment() -> dict[str, tuple[str, str]]:
    """Every ``BEEHIVE_...`` variable: name -> (where it is used, what it means)."""
    from beehive import settings

    options: dict[str, dict[str, list[str]]] = {}  # variable -> flag -> commands
    for command in commands():
        for argument in command.arguments:
            if argument.variable:
                flag = argument.names.split(",")[0].split()[0]
                by_flag = options.setdefault(argument.variable, {})
                by_flag.setdefault(flag, []).append(command.name.removeprefix("beehive "))
    table = {}
    for name, info in settings.Settings.model_fields.items():
        if name == "actor":
            continue  # one variable per actor and setting: the per-actor table
        variable = settings.variable(name)
        secret = "SecretStr" in str(info.annotation)
        used = "; ".join(
            f"`{flag}` of {', '.join(names)}" for flag, names in options.get(variable, {}).items()
        )
        default = info.get_default(call_default_factory=True)
        shown = f"; default `{default}`" if default not in (None, [], "", False) else ""
        kind = f"`{_type(info.annotation)}`"
        meaning = f"{info.description or ''} ({kind}{shown}{'; a secret' if secret else ''})"
        table[variable] = (used or "environment only", meaning)
    table[f"{settings.ENV_PREFIX}ACTOR__<Class>__<SETTING>"] = (
        "every command that loads actors",
        "a per-actor setting (see [per-actor settings](#per-actor-settings))",
    )
    return dict(sorted(table.items()))


def environment_markdown() -> str:
    out = ["| variable | set by | meaning |", "|---|---|---|"]
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
    from beehive.settings import ActorSettings

    defaults = {f.name: f.default for f in dataclasses.fields(ActorDescriptor)}
    meanings = _field_docstrings(ActorDescriptor)
    return [
        (
            name,
            _type(info.annotation),
            repr(defaults[name]),
            meanings.get(name) or info.description or "",
        )
        for name, info in ActorSettings.model_fields.items()
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


def on_page_content(html: str, **_: Any) -> str:
    """Docstrings' Sphinx roles (``:mod:`x` ``) render as plain code in the API reference."""
    return SPHINX_ROLE.sub("", html)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """mkdocs calls this for every page: a marker alone on its line becomes its tables."""
    lines = markdown.split("\n")
    return "\n".join(MARKERS[line.strip()]() if line.strip() in MARKERS else line for line in lines)
