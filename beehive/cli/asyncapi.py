"""``beehive asyncapi``: the event network as an AsyncAPI 3.0 document, in JSON or YAML."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from beehive import asyncapi
from beehive.cli._common import CommandError, add_option, add_selection, modules_of
from beehive.cli._contract import load_contract
from beehive.cli.topology import write

FORMATS = ("json", "yaml")


def configure(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_option(
        parser,
        "--format",
        env="BEEHIVE_ASYNCAPI_FORMAT",
        help=f"one of {', '.join(FORMATS)}",
    )
    add_option(
        parser,
        "--output",
        env="BEEHIVE_ASYNCAPI_OUTPUT",
        metavar="FILE",
        help="write to FILE, not stdout",
    )
    add_option(parser, "--title", help="the document's title (default: the modules' names)")


def main(args: argparse.Namespace) -> int:
    if args.format not in FORMATS:
        raise CommandError(f"unknown format {args.format!r}; choose one of {', '.join(FORMATS)}")
    contract = load_contract(args)
    document = asyncapi.document(contract, title=args.title or ", ".join(modules_of(args)))
    text = json.dumps(document, indent=2) + "\n" if args.format == "json" else yaml(document)
    write(text, args.output)
    return 0


_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_.$@-]*")


def yaml(value: Any) -> str:
    """JSON-ready values as block YAML. Strings are written as JSON strings, which YAML reads
    as double-quoted scalars, so no value can be misread (``no``, ``1.0``, ``null``)."""
    return "\n".join(_lines(value, 0)) + "\n"


def _key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) else json.dumps(key)


def _lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{_key(key)}:")
                lines += _lines(item, indent + 2)
            else:
                lines.append(f"{pad}{_key(key)}: {json.dumps(item)}")
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            nested = _lines(item, indent + 2)
            lines.append(f"{pad}- {nested[0].lstrip()}")
            lines += nested[1:]
        return lines
    return [pad + json.dumps(value)]
