"""Per-actor settings from configuration instead of code (BeeHive's IActorConfiguration).

Overrides are keyed by actor class name (every source of that class) or by descriptor name
(``ActorClass@Topic-Subscription``, one source) and may set what
:class:`beehive.settings.ActorSettings` lists: ``parallelism``, ``max_deliveries``,
``lease_seconds``, ``max_lease_seconds``, ``enabled``, ``idempotent`` and ``exclusive``. A key
that names no actor is an error that lists the known ones. The TOML file is read by
``tomllib`` and the variables by pydantic-settings; both are validated by that one model.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from beehive.actors import ActorDescriptor
from beehive.settings import ActorSettings, read

SETTINGS: dict[str, type] = {
    name: next(t for t in get_args(info.annotation) if t is not type(None))
    for name, info in ActorSettings.model_fields.items()
}
"""Each setting's type, by name."""
ENV_PREFIX = "BEEHIVE_ACTOR__"

Overrides = Mapping[str, Mapping[str, Any] | ActorSettings]
_TABLES = TypeAdapter(dict[str, ActorSettings])


def _problems(error: ValidationError, where: str, skip: int = 0) -> str:
    """One line per problem, ``where`` formatted with the actor and the setting's key."""
    lines = []
    for problem in error.errors():
        *actor, key = (str(part) for part in problem["loc"][skip:])
        if problem["type"] == "extra_forbidden":
            message = f"unknown setting; allowed: {', '.join(SETTINGS)}"
        else:
            message = problem["msg"]
        lines.append(where.format(actor="/".join(actor), key=key, KEY=key.upper()) + f": {message}")
    return "; ".join(lines)


def _settings(actor: str, settings: Mapping[str, Any] | ActorSettings) -> dict[str, Any]:
    if isinstance(settings, ActorSettings):
        return settings.changes()
    try:
        return ActorSettings.model_validate(dict(settings)).changes()
    except ValidationError as error:
        raise ValueError(_problems(error, f"setting {{key}} of actor {actor}")) from None


def apply_overrides(
    descriptors: Iterable[ActorDescriptor], overrides: Overrides
) -> list[ActorDescriptor]:
    """The descriptors with their overridden settings (a descriptor name wins over a class).

    Raises ValueError for a setting that is unknown or of the wrong type, and for a key that
    names no actor among ``descriptors`` (case does not matter: variables lose it).
    """
    descriptors = list(descriptors)
    known = {d.actor_type.__name__ for d in descriptors} | {d.name for d in descriptors}
    by_key = {name.lower(): name for name in known}
    resolved: dict[str, dict[str, Any]] = {}
    for key, settings in overrides.items():
        name = key if key in known else by_key.get(key.lower())
        if name is None:
            raise ValueError(
                f"settings for {key}, which is no actor here; known: {', '.join(sorted(known))}"
            )
        resolved.setdefault(name, {}).update(_settings(name, settings))
    result = []
    for descriptor in descriptors:
        changes = {
            **resolved.get(descriptor.actor_type.__name__, {}),
            **resolved.get(descriptor.name, {}),
        }
        result.append(dataclasses.replace(descriptor, **changes) if changes else descriptor)
    return result


def overrides_from_toml(path: str | Path) -> dict[str, ActorSettings]:
    """Overrides from a TOML file with one table per actor::

    [PaymentActor]
    parallelism = 8

    ["TracingActor@OrderShipped-Trace"]
    enabled = false
    """
    with Path(path).open("rb") as file:
        data = tomllib.load(file)
    try:
        return _TABLES.validate_python(data)
    except ValidationError as error:
        raise ValueError(_problems(error, f"{path}: [{{actor}}] {{key}}")) from None


def overrides_from_env(environ: Mapping[str, str] | None = None) -> dict[str, ActorSettings]:
    """Overrides from ``BEEHIVE_ACTOR__<ActorClass>__<SETTING>`` variables (of ``environ``,
    default ``os.environ``), read by :class:`beehive.settings.Settings`.

    For example ``BEEHIVE_ACTOR__PaymentActor__PARALLELISM=8`` or
    ``BEEHIVE_ACTOR__TracingActor__ENABLED=false``. Variable names lose their case, so the
    actor is matched against the known ones ignoring case.
    """
    environ = os.environ if environ is None else environ
    # The settings source lowers the case of variable names: give the actors theirs back.
    spelt = {
        name.lower(): name
        for variable in environ
        if variable.upper().startswith(ENV_PREFIX)
        for name in variable[len(ENV_PREFIX) :].split("__")[:1]
    }
    try:
        found: dict[str, ActorSettings] = read(["actor"], environ=environ)["actor"]
    except ValidationError as error:
        problems = _problems(error, ENV_PREFIX + "{actor}__{KEY}", skip=1)
        for lower, name in spelt.items():
            problems = problems.replace(f"{ENV_PREFIX}{lower}__", f"{ENV_PREFIX}{name}__")
        raise ValueError(
            f"{problems} (expected {ENV_PREFIX}<ActorClass>__<SETTING>, SETTING one of "
            f"{', '.join(s.upper() for s in SETTINGS)})"
        ) from None
    return {spelt.get(actor, actor): settings for actor, settings in found.items()}
