"""The ``beehive`` command: ``run`` the actor host, print the ``topology``, draw the ``graph``,
``send`` events, tend the dead letters (``dlq``), follow one correlation (``trace``), ``check``
the network, publish it as ``asyncapi``, guard its events' ``schema``.

Every option can also be set with a ``BEEHIVE_...`` environment variable (see ``--help``), so
a container image needs no arguments beyond the modules (or ``BEEHIVE_MODULES``).

Every path ends in one line on stderr, never a traceback, and one of these exit codes:
0 done; 1 the command ran and failed (the host could not start, nothing found, an unexpected
error); 2 a usage or configuration error; 130 interrupted (Ctrl-C); 141 the output was closed
early (a broken pipe, as in ``beehive dlq ... | head``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from beehive.cli import asyncapi, check, dlq, graph, run, schema, send, topology, trace
from beehive.cli._common import CommandError, Parser, ends_cleanly, fail, resolve

__all__ = ["execute", "main", "parse", "parser"]

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
    root = Parser(prog="beehive", description="Reactive cloud actors: run, inspect and draw them.")
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
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for a supervisor's workers
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module's documentation)."""
    try:
        args = parse(argv)
    except CommandError as error:
        return fail("beehive", str(error), 2)
    return execute(args)


def execute(args: argparse.Namespace) -> int:
    """Run the command ``args`` chose; every failure becomes one line and an exit code."""
    return ends_cleanly("beehive", lambda: _handle(args))


def _handle(args: argparse.Namespace) -> int:
    try:
        code: int = args.handler(args)
    except CommandError as error:
        return fail("beehive", str(error), 2)
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as error:
        logging.getLogger("beehive.cli").debug("unexpected error", exc_info=error)
        return fail("beehive", f"unexpected {type(error).__name__}: {error}", 1)
    return code
