"""``beehive send EVENT_TYPE [BODY]``: publish events from the command line (BeeHive's Pusher).

The body is JSON text, ``@file`` or ``-`` (standard input). With ``--to URL`` the events go
to a running host's ``POST /api/send`` route (any backend, the in-memory one included),
which needs the host's ``BEEHIVE_DASHBOARD_TOKEN`` as the bearer token; otherwise they go
straight to the broker ``--backend`` names. Either way a body is validated against the
event's model when its type is known: by the host, or here from ``--module``.

Exit codes: 0 sent; 2 a usage mistake or a body that fails the model (the errors listed);
1 the host refused (token) or could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from beehive.actors import discover
from beehive.cli._common import (
    CommandError,
    add_backend,
    add_option,
    import_module,
    make_operator,
    setting,
)
from beehive.errors import BadEventBody
from beehive.events import Event, PropertyValue
from beehive.sending import MAX_COUNT, Outgoing, event_models, problems
from beehive.web._requests import TOKEN_VARIABLE

TIMEOUT = 30.0


class SendRefused(Exception):
    """The host refused or could not be reached: exit code 1."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("event_type", metavar="EVENT_TYPE", help="the event's type (its topic)")
    parser.add_argument(
        "body",
        metavar="BODY",
        nargs="?",
        default="{}",
        help="the body: JSON text, @FILE, or - for standard input (default: {})",
    )
    parser.add_argument(
        "--property",
        dest="properties",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an application property (repeatable); numbers and true/false keep their type",
    )
    parser.add_argument("--session", metavar="ID", help="session id (ordered per session)")
    parser.add_argument("--correlation", metavar="ID", help="correlation id")
    parser.add_argument(
        "--count", type=int, default=1, metavar="N", help=f"send N copies, 1 to {MAX_COUNT}"
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="deliver after SECONDS (at most a year)",
    )
    parser.add_argument(
        "--to",
        metavar="URL",
        help="a running host's endpoint (http://127.0.0.1:8080): send through it, with the token",
    )
    parser.add_argument(
        "--token",
        help=f"the host's token for --to (default: {TOKEN_VARIABLE} from the environment)",
    )
    parser.add_argument(
        "--module",
        dest="send_modules",
        action="append",
        default=[],
        metavar="MODULE",
        help="modules whose models validate the body when sending to the broker "
        "(default: BEEHIVE_MODULES)",
    )
    add_option(parser, "--app-dir", help="directory put first on sys.path")
    add_backend(parser)


def main(args: argparse.Namespace) -> int:
    outgoing = _outgoing(args)
    try:
        if args.to:
            answer = _post(args.to, args.token or setting("dashboard_token"), outgoing)
            ids, readers = answer["ids"], answer.get("readers")
        else:
            events = outgoing.events(event_models(_modules(args)))
            ids, readers = [e.id for e in events], None
            asyncio.run(_push(args, events))
    except BadEventBody as error:
        raise CommandError(str(error)) from None
    except SendRefused as error:
        print(f"beehive: error: {error}", file=sys.stderr)
        return 1
    noun = "event" if len(ids) == 1 else "events"
    print(f"sent {len(ids)} {outgoing.event_type} {noun}: {', '.join(ids[:3])}", end="")
    print(" ..." if len(ids) > 3 else "")
    if readers == []:
        print(f"note: no actor of that host reads {outgoing.event_type}", file=sys.stderr)
    return 0


def _outgoing(args: argparse.Namespace) -> Outgoing:
    try:
        return Outgoing(
            event_type=args.event_type,
            body=_body(args.body),
            properties=dict(_property(p) for p in args.properties),
            session_id=args.session,
            correlation_id=args.correlation,
            count=args.count,
            delay=args.delay,
        )
    except ValidationError as error:
        raise CommandError(problems(error)) from None


def _body(given: str) -> Any:
    if given == "-":
        text, where = sys.stdin.read(), "standard input"
    elif given.startswith("@"):
        try:
            text, where = Path(given[1:]).read_text(encoding="utf-8"), given[1:]
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read the body from {given[1:]}: {error}") from None
    else:
        text, where = given, "BODY"
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise CommandError(f"the body in {where} is not JSON: {error}") from None


def _property(given: str) -> tuple[str, PropertyValue]:
    key, equals, raw = given.partition("=")
    if not equals or not key:
        raise CommandError(f"--property takes KEY=VALUE, not {given!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        return key, raw
    return key, value if isinstance(value, str | int | float | bool) else raw


def _modules(args: argparse.Namespace) -> list[Any]:
    names = args.send_modules or setting("modules")
    if not names:
        return []
    app_dir = str(Path(args.app_dir).resolve())
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    modules = [import_module(name) for name in names]
    return [*modules, *discover(*modules)]


async def _push(args: argparse.Namespace, events: list[Event]) -> None:
    if args.backend == "memory":
        raise CommandError(
            "the memory backend lives inside the process of the host that runs it: send "
            f"with --to http://HOST:PORT (its endpoint) and {TOKEN_VARIABLE}"
        )
    operator = make_operator(
        args.backend, os.environ, servicebus_namespace=args.servicebus_namespace
    )
    try:
        await operator.push_batch(events)
    except Exception as error:
        raise SendRefused(
            f"cannot send to {args.backend}: {type(error).__name__}: {error}"
        ) from None
    finally:
        await operator.close()


def _post(url: str, token: str | None, outgoing: Outgoing) -> dict[str, Any]:
    """POST to the host's send route; its answer, or SendRefused / BadEventBody."""
    if not token:
        raise SendRefused(f"sending to a host needs its token: set {TOKEN_VARIABLE} or --token")
    target = url.rstrip("/")
    if not target.endswith("/api/send"):
        target += "/api/send"
    request = urllib.request.Request(
        target,
        data=outgoing.model_dump_json().encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        message = _error_of(error)
        if error.code == 422:
            raise BadEventBody(message) from None
        raise SendRefused(f"{target} answered {error.code}: {message}") from None
    except (OSError, ValueError) as error:
        raise SendRefused(f"cannot reach {target}: {error}") from None


def _error_of(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read())["error"])
    except (ValueError, KeyError, TypeError):
        return error.reason
