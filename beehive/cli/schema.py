"""``beehive schema``: snapshot the events' schemas, and check the code against a snapshot.

``beehive schema snapshot MODULE... > events.lock.json`` records every event type's version
and JSON Schema; ``beehive schema check MODULE... --against events.lock.json`` prints what
changed per event and exits 1 when a change breaks the events already in flight.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from beehive.cli._common import CommandError, add_option, add_selection, import_module, modules_of
from beehive.cli._contract import load_contract
from beehive.snapshot import compare, snapshot
from beehive.versions import find_upcasters


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="schema_action", metavar="ACTION", required=True)
    take = actions.add_parser(
        "snapshot",
        help="print every event type's version and JSON Schema (JSON, to standard output)",
    )
    add_selection(take)
    check = actions.add_parser(
        "check",
        help="compare the code's event schemas with a snapshot; exit 1 on a breaking change",
    )
    add_selection(check)
    add_option(
        check,
        "--against",
        env="BEEHIVE_SCHEMA_AGAINST",
        metavar="FILE",
        help="the snapshot to compare with (from beehive schema snapshot)",
    )


def main(args: argparse.Namespace) -> int:
    now = snapshot(load_contract(args))
    if args.schema_action == "snapshot":
        print(json.dumps(now, indent=2, sort_keys=True))
        return 0
    before = _read(args.against)
    upcasters = find_upcasters(*map(import_module, modules_of(args)))
    try:
        changes = compare(before, now, upcasters)
    except ValueError as error:
        raise CommandError(f"{args.against}: {error}") from None
    for change in changes:
        print(change)
    breaking = sum(c.breaking for c in changes)
    print(f"{breaking} breaking, {len(changes) - breaking} compatible")
    return 1 if breaking else 0


def _read(path: str | None) -> Any:
    if not path:
        raise CommandError("name the snapshot to check against: --against events.lock.json")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise CommandError(f"{path} is not JSON: {error}") from None
