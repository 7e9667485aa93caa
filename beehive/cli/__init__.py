"""The ``beehive`` command: ``run`` the actor host, print the ``topology``, draw the ``graph``,
``send`` events, tend the dead letters (``dlq``), follow one correlation (``trace``), ``check``
the network, publish it as ``asyncapi``, guard its events' ``schema``.

Every option can also be set with a ``BEEHIVE_...`` environment variable (see ``--help``), so
a container image needs no arguments beyond the modules (or ``BEEHIVE_MODULES``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from beehive.cli import asyncapi, check, dlq, graph, run, schema, send, topology, trace
from beehive.cli._common import CommandError, resolve

__all__ = ["main", "parse", "parser"]

COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[..., int]]] = {
    "run": ("run the actor host until SIGTERM or SIGINT", run.configure, run.main),
    "send": (
        "send events to the broker, or to a running host's endpoint (--to URL)",
        send.configure,
        send.main,
    ),
    "topology": (
        "print the topics, subscriptions and queues the actors need",
        topology.configure,
        topology.main,
    ),
    "graph": ("draw the event network (mermaid or dot)", graph.configure, graph.main),
    "dlq": (
        "list, show, replay or purge the dead letters of a subscription or queue",
        dlq.configure,
        dlq.main,
    ),
    "trace": (
        "show one correlation's journey through the actors, from the event journal",
        trace.configure,
        trace.main,
    ),
    "check": (
        "find the event network's problems before deploying it",
        check.configure,
        check.main,
    ),
    "asyncapi": (
        "write the event network as an AsyncAPI 3.0 document",
        asyncapi.configure,
        asyncapi.main,
    ),
    "schema": (
        "snapshot the events' schemas, or check the code against a snapshot",
        schema.configure,
        schema.main,
    ),
}


def _version() -> str:
    try:
        return version("beehive-actors")
    except PackageNotFoundError:
        return "unknown"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="beehive", description="Reactive cloud actors: run, inspect and draw them."
    )
    root.add_argument("--version", action="version", version=f"beehive {_version()}")
    commands = root.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (summary, configure, command) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary)
        configure(sub)
        sub.set_defaults(handler=command)
    return root


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The arguments of ``argv``, with what the command line left out read from the settings
    (its variables, else the defaults). Raises CommandError for a bad value."""
    args = parser().parse_args(argv)
    resolve(args)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for a usage or configuration error)."""
    try:
        args = parse(argv)
        code: int = args.handler(args)
    except CommandError as error:
        print(f"beehive: error: {error}", file=sys.stderr)
        return 2
    return code
