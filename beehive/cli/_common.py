"""What every command shares: options backed by environment variables, loading the user's
modules and container, selecting actors, and building the queue backend."""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
import sysconfig
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from beehive import settings
from beehive.actors import ActorDescriptor, discover
from beehive.config import apply_overrides, overrides_from_env, overrides_from_toml
from beehive.errors import BeeHiveError
from beehive.queues import BACKENDS, QueueOperator, operator_for

ENV_PREFIX = "BEEHIVE_"


class CommandError(BeeHiveError):
    """A mistake in how a command was called or configured: one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def fail(prog: str, message: str, code: int) -> int:
    """Say what went wrong in one line on stderr (a message of several lines is joined);
    returns ``code``."""
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    print(f"{prog}: error: {line}", file=sys.stderr)
    return code


def ends_cleanly(prog: str, run: Callable[[], int]) -> int:
    """``run()``, with Ctrl-C (exit code 130) and a closed output (a broken pipe, as in
    ``... | head``: exit code 141) ending in one line instead of a traceback."""
    try:
        code = run()
        sys.stdout.flush()  # a closed pipe shows here, not at exit
    except KeyboardInterrupt:
        return fail(prog, "interrupted", 130)
    except BrokenPipeError:
        # The reader went away: send what is still buffered nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return fail(prog, "the output was closed before the end (broken pipe)", 141)
    return code


def env_name(option: str) -> str:
    """``--log-format`` is also ``BEEHIVE_LOG_FORMAT``."""
    return ENV_PREFIX + option.lstrip("-").replace("-", "_").upper()


@dataclass(frozen=True, slots=True)
class _Option:
    dest: str
    field: str
    flag: str


_OPTIONS = "_settings_options"


def _register(parser: argparse.ArgumentParser, option: _Option) -> None:
    options: list[_Option] = parser.get_default(_OPTIONS) or []
    parser.set_defaults(**{_OPTIONS: [*options, option]})


def _field(variable: str) -> str:
    try:
        return settings.field_of(variable)
    except KeyError:
        raise TypeError(
            f"{variable} has no field in beehive.settings.Settings: add one (its type, default "
            "and description make the option and the configuration reference)"
        ) from None


def add_option(
    parser: argparse.ArgumentParser,
    flag: str,
    *,
    help: str,
    metavar: str | None = None,
    many: bool = False,
    env: str | None = None,
) -> None:
    """An option backed by its ``BEEHIVE_...`` variable: its type and default come from
    :class:`beehive.settings.Settings` (resolved by :func:`resolve`, after parsing).

    ``many`` options may be repeated. ``env`` names the variable when the flag's own name
    would be ambiguous across commands.
    """
    variable = env or env_name(flag)
    field = _field(variable)
    default = settings.Settings.model_fields[field].get_default(call_default_factory=True)
    shown = f" (default: {default})" if default not in (None, [], "") else ""
    action = parser.add_argument(
        flag,
        default=None,
        metavar=metavar,
        action="extend" if many else "store",
        nargs="+" if many else None,
        help=f"{help}{shown} [env {variable}]",
    )
    _register(parser, _Option(action.dest, field, flag))


def add_flag(parser: argparse.ArgumentParser, flag: str, *, help: str) -> None:
    """An on/off option, on when given or when its ``BEEHIVE_...`` variable says true."""
    variable = env_name(flag)
    action = parser.add_argument(
        flag, action="store_true", default=None, help=f"{help} [env {variable}]"
    )
    _register(parser, _Option(action.dest, _field(variable), flag))


def resolve(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> None:
    """Fill in the options the command line left out from their variables (of ``environ``,
    default ``os.environ``), else their defaults, all validated by the settings model.

    Only the running command's options are read: a bad variable of another command is no
    error here. A bad value is a CommandError naming the option or the variable.
    """
    options: list[_Option] = getattr(args, _OPTIONS, None) or []
    given = {o.field: getattr(args, o.dest) for o in options if getattr(args, o.dest) is not None}
    try:
        values = settings.read([o.field for o in options], given, environ)
    except ValidationError as error:
        raise CommandError(_bad_setting(error, options, given, environ)) from None
    for option in options:
        setattr(args, option.dest, values[option.field])


def _bad_setting(
    error: ValidationError,
    options: list[_Option],
    given: Mapping[str, Any],
    environ: Mapping[str, str] | None,
) -> str:
    problem = error.errors()[0]
    field = str(problem["loc"][0]) if problem["loc"] else ""
    flag = next((o.flag for o in options if o.field == field), field)
    if field in given:
        where = f"{flag} {given[field]!r}"
    else:
        variable = settings.variable(field)
        environ = os.environ if environ is None else environ
        raw = next((v for k, v in environ.items() if k.upper() == variable), "")
        where = f"{variable}={raw!r} ({flag})"
    return f"{where}: {problem['msg']}"


def add_backend(parser: argparse.ArgumentParser) -> None:
    """The options that choose the broker (its secrets are variables only)."""
    add_option(parser, "--backend", help=f"one of {', '.join(BACKENDS)}")
    add_option(
        parser,
        "--servicebus-namespace",
        metavar="NAME",
        help="Service Bus namespace (name or FQDN) reached with a managed identity",
    )


def add_selection(parser: argparse.ArgumentParser) -> None:
    """The arguments every command has: the modules, the app dir, the actor selection."""
    parser.add_argument(
        "modules",
        nargs="*",
        metavar="MODULE",
        help=f"modules or packages holding @actor classes [env {ENV_PREFIX}MODULES]",
    )
    add_option(
        parser,
        "--app-dir",
        help="directory put first on sys.path to import the modules from",
    )
    add_option(
        parser,
        "--only",
        many=True,
        metavar="ACTOR",
        help="run only these actors (class name or ActorClass@Topic-Subscription)",
    )
    add_option(
        parser,
        "--except",
        many=True,
        metavar="ACTOR",
        help="run every actor but these (class name or ActorClass@Topic-Subscription)",
    )
    add_option(
        parser,
        "--config",
        metavar="FILE",
        help="TOML file of per-actor settings ([ActorClass] parallelism = 8 ...)",
    )


def import_module(name: str) -> Any:
    """Import a user module; any failure is a CommandError naming the module, the cause and
    where in the user's code it happened."""
    try:
        return importlib.import_module(name)
    except Exception as error:
        cause = f"{type(error).__name__}: {error}"
        where = origin(error)
        raise CommandError(
            f"cannot import {name!r}: {cause}" + (f" ({where})" if where else "")
        ) from None


_NOT_THE_USERS = (
    *{
        str(Path(path).resolve())
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(key))
    },
    str(Path(__file__).resolve().parents[1]),  # beehive itself
)


def origin(error: BaseException) -> str | None:
    """``file, line N`` of the user's code where ``error`` arose: the innermost frame outside
    Python's, the installed libraries' and beehive's own files (or where a SyntaxError is)."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}, line {error.lineno}"
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith("<")
        and not str(Path(frame.filename).resolve()).startswith(_NOT_THE_USERS)
    ]
    return f"{frames[-1].filename}, line {frames[-1].lineno}" if frames else None


def _matches(descriptor: ActorDescriptor, names: set[str]) -> bool:
    return descriptor.actor_type.__name__ in names or descriptor.name in names


def select(
    descriptors: Sequence[ActorDescriptor], only: Sequence[str], exclude: Sequence[str]
) -> list[ActorDescriptor]:
    """The descriptors named by ``only`` (all when empty) minus those named by ``exclude``."""
    known = {d.actor_type.__name__ for d in descriptors} | {d.name for d in descriptors}
    unknown = sorted((set(only) | set(exclude)) - known)
    if unknown:
        raise CommandError(
            f"no actor named {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    selected = [d for d in descriptors if not only or _matches(d, set(only))]
    return [d for d in selected if not _matches(d, set(exclude))]


def modules_of(args: argparse.Namespace) -> list[str]:
    modules: list[str] = args.modules or settings.read(["modules"])["modules"]
    if not modules:
        raise CommandError(f"name the modules holding your actors (or set {ENV_PREFIX}MODULES)")
    return modules


def load_descriptors(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> list[ActorDescriptor]:
    """Import the modules, discover their actors, apply the configuration, then select."""
    app_dir = str(Path(args.app_dir).resolve())
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    modules = modules_of(args)
    found: list[ActorDescriptor] = []
    for name in modules:
        module = import_module(name)
        try:
            found.extend(d for d in discover(module) if d not in found)
        except CommandError:
            raise
        except Exception as error:
            raise CommandError(f"cannot import {name!r}: {type(error).__name__}: {error}") from None
    if not found:
        raise CommandError(f"no @actor classes found in {', '.join(modules)}")
    try:
        if args.config:
            found = apply_overrides(found, overrides_from_toml(args.config))
        found = apply_overrides(found, overrides_from_env(environ))
    except (OSError, ValueError) as error:
        raise CommandError(f"bad actor configuration: {error}") from None
    selected = select(found, args.only, getattr(args, "except"))
    if not selected:
        raise CommandError("--only/--except left no actor to run")
    return selected


def load_container(spec: str | None) -> Any | None:
    """The container named ``module:name``: an instance, a class (instantiated), or a function
    taking no arguments that returns one (a factory reading its settings from the environment).
    """
    if not spec:
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise CommandError(f"--container takes module:Container, not {spec!r}")
    module = import_module(module_name)
    container = getattr(module, attribute, None)
    if container is None:
        raise CommandError(f"module {module_name!r} has no {attribute!r}")
    if isinstance(container, type) or inspect.isfunction(container):
        try:
            container = container()
        except Exception as error:
            raise CommandError(f"cannot create {spec}: {type(error).__name__}: {error}") from None
    return container


def setting(field: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting (a secret unwrapped); a bad value is a CommandError naming its variable."""
    try:
        return settings.get(field, environ)
    except ValidationError as error:
        problem = error.errors()[0]["msg"]
        raise CommandError(f"{settings.variable(field)}: {problem}") from None


def make_operator(
    backend: str, environ: Mapping[str, str], *, servicebus_namespace: str | None = None
) -> QueueOperator:
    """:func:`beehive.queues.operator_for`, its refusals as command errors."""
    try:
        return operator_for(backend, environ, servicebus_namespace=servicebus_namespace)
    except (ValueError, ImportError) as error:
        raise CommandError(str(error)) from None
