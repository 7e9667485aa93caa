"""``beehive dlq list|show|replay|purge QUEUE``: the dead letters of a subscription or queue.

``replay`` moves the selected dead letters back into that same subscription or queue (never
to the topic, whose other subscribers would get duplicates), keeping their ids; ``purge``
deletes them, after a confirmation. Backends and their settings are those of ``beehive run``.
The in-memory broker's dead letters live inside the running host: see its dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from beehive.cli._common import CommandError, add_backend, make_operator
from beehive.errors import BeeHiveError
from beehive.events import Event
from beehive.names import QueueName
from beehive.queues._dead_letters import summary
from beehive.queues.base import DeadLetterInfo, QueueOperator, dead_letter_selector

ACTIONS = ("list", "show", "replay", "purge")
_REASON_WIDTH = 60


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = _action(actions, "list", "list the dead letters (id, type, reason, actor, age)")
    listing.add_argument("--json", action="store_true", help="print JSON, not a table")
    show = _action(actions, "show", "print one dead letter in full, as JSON")
    show.add_argument("id", metavar="ID", help="the event id")
    replay = _action(actions, "replay", "move dead letters back into the same queue")
    _add_selection(replay)
    purge = _action(actions, "purge", "delete dead letters for good")
    _add_selection(purge)
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def _action(
    actions: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse.ArgumentParser:
    parser = actions.add_parser(name, help=summary, description=summary)
    parser.add_argument("queue", metavar="QUEUE", help="subscription (Topic-Sub) or queue name")
    add_backend(parser)
    return parser


def _add_selection(parser: argparse.ArgumentParser) -> None:
    chosen = parser.add_mutually_exclusive_group(required=True)
    chosen.add_argument(
        "--id", dest="ids", action="append", metavar="ID", help="this event id (repeatable)"
    )
    chosen.add_argument("--reason", metavar="TEXT", help="those whose reason contains TEXT")
    chosen.add_argument("--all", action="store_true", help="every dead letter of the queue")


def main(args: argparse.Namespace) -> int:
    if args.backend == "memory":
        raise CommandError(
            "the memory backend's dead letters live inside the process of the host that runs "
            "it: open its dashboard (beehive run --dashboard) to see and replay them"
        )
    operator = make_operator(
        args.backend, os.environ, servicebus_namespace=args.servicebus_namespace
    )
    return asyncio.run(_run(args, operator))


async def _run(args: argparse.Namespace, operator: QueueOperator) -> int:
    async with operator:
        return await execute(args, operator)


async def execute(
    args: argparse.Namespace,
    operator: QueueOperator,
    *,
    out: TextIO | None = None,
    stdin: TextIO | None = None,
    ask: Callable[[str], str] = input,
) -> int:
    """Carry out the parsed ``dlq`` command on ``operator`` (tests pass their own)."""
    out = out or sys.stdout
    try:
        queue = QueueName(args.queue)
    except ValueError as error:
        raise CommandError(str(error)) from None
    try:
        if args.action == "list":
            return await _list(operator, queue, args.json, out)
        if args.action == "show":
            return await _show(operator, queue, args.id, out)
        ids, reason = _selection(args)
        if args.action == "replay":
            count = await operator.replay_dead_letters(queue, ids=ids, reason=reason)
            print(f"replayed {_letters(count)} into {queue}", file=out)
            return 0
        if not args.yes and not await _confirmed(operator, queue, ids, reason, stdin, ask):
            print("nothing purged", file=out)
            return 1
        count = await operator.purge_dead_letters(queue, ids=ids, reason=reason)
        print(f"purged {_letters(count)} from {queue}", file=out)
        return 0
    except BeeHiveError as error:
        if isinstance(error, CommandError):
            raise
        raise CommandError(str(error)) from None


def _selection(args: argparse.Namespace) -> tuple[Sequence[str] | None, str | None]:
    if args.all:
        return None, None
    return args.ids, args.reason


def _letters(count: int) -> str:
    return f"{count} dead letter{'' if count == 1 else 's'}"


async def _list(operator: QueueOperator, queue: QueueName, as_json: bool, out: TextIO) -> int:
    rows = [summary(event) for event in await operator.dead_letters(queue)]
    if as_json:
        json.dump(rows, out, indent=2)
        out.write("\n")
        return 0
    if not rows:
        print(f"no dead letters in {queue}", file=out)
        return 0
    table = [["ID", "EVENT TYPE", "REASON", "ACTOR", "AGE", "DELIVERIES"]]
    table += [
        [
            row["id"],
            row["event_type"],
            _clip(row["reason"]),
            row["actor"] or "-",
            age(row["age_seconds"]),
            str(row["delivery_count"]),
        ]
        for row in rows
    ]
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip(),
            file=out,
        )
    return 0


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_WIDTH else text[: _REASON_WIDTH - 1] + "…"


def age(seconds: float | None) -> str:
    """``42s``, ``5m``, ``3h``, ``2d``: how long ago, roughly (``unknown`` for None)."""
    if seconds is None:
        return "unknown"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


async def _show(operator: QueueOperator, queue: QueueName, event_id: str, out: TextIO) -> int:
    for event in await operator.dead_letters(queue):
        if event.id == event_id:
            json.dump(_full(event), out, indent=2)
            out.write("\n")
            return 0
    print(f"beehive: no dead letter {event_id} in {queue}", file=sys.stderr)
    return 1


def _full(event: Event) -> dict[str, Any]:
    shown: dict[str, Any] = event.model_dump(mode="json")
    with contextlib.suppress(ValueError):  # a body that is not JSON is shown as its text
        shown["body"] = json.loads(event.body) if event.body else event.body
    return shown


async def _confirmed(
    operator: QueueOperator,
    queue: QueueName,
    ids: Sequence[str] | None,
    reason: str | None,
    stdin: TextIO | None,
    ask: Callable[[str], str],
) -> bool:
    """Ask on a terminal; refuse (a CommandError) when nobody can be asked."""
    stdin = stdin or sys.stdin
    if not stdin.isatty():
        raise CommandError("refusing to purge without --yes: standard input is not a terminal")
    chosen = dead_letter_selector(ids, reason)
    count = sum(
        chosen(event.id, DeadLetterInfo.of(event).reason)
        for event in await operator.dead_letters(queue)
    )
    if count == 0:
        return True  # nothing to lose
    answer = ask(f"purge {_letters(count)} from {queue} for good? [y/N] ")
    return answer.strip().lower() in ("y", "yes")
