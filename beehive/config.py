"""Per-actor settings from configuration instead of code (BeeHive's IActorConfiguration).

Overrides are keyed by actor class name (every source of that class) or by descriptor name
(``ActorClass@Topic-Subscription``, one source) and may set ``parallelism``,
``max_deliveries``, ``lease_seconds``, ``max_lease_seconds``, ``enabled`` and ``idempotent``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from beehive.actors import ActorDescriptor

SETTINGS: dict[str, type] = {
    "parallelism": int,
    "max_deliveries": int,
    "lease_seconds": float,
    "max_lease_seconds": float,
    "enabled": bool,
    "idempotent": bool,
}
ENV_PREFIX = "BEEHIVE_ACTOR__"

Overrides = Mapping[str, Mapping[str, Any]]


def _checked(actor: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValueError(
            f"unknown setting(s) {', '.join(sorted(unknown))} for actor {actor}; "
            f"allowed: {', '.join(SETTINGS)}"
        )
    checked: dict[str, Any] = {}
    for key, value in settings.items():
        kind = SETTINGS[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            raise ValueError(f"setting {key} of actor {actor} must be {kind.__name__}: {value!r}")
        checked[key] = value
    return checked


def apply_overrides(
    descriptors: Iterable[ActorDescriptor], overrides: Overrides
) -> list[ActorDescriptor]:
    """The descriptors with their overridden settings (a descriptor name wins over a class)."""
    result = []
    for descriptor in descriptors:
        by_class = overrides.get(descriptor.actor_type.__name__, {})
        by_name = overrides.get(descriptor.name, {})
        changes = {
            **_checked(descriptor.actor_type.__name__, by_class),
            **_checked(descriptor.name, by_name),
        }
        result.append(dataclasses.replace(descriptor, **changes) if changes else descriptor)
    return result


def overrides_from_toml(path: str | Path) -> dict[str, dict[str, Any]]:
    """Overrides from a TOML file with one table per actor::

    [PaymentActor]
    parallelism = 8

    ["TracingActor@OrderShipped-Trace"]
    enabled = false
    """
    with Path(path).open("rb") as file:
        data = tomllib.load(file)
    for actor, settings in data.items():
        if not isinstance(settings, dict):
            raise ValueError(f"{path}: [{actor}] must be a table of settings")
    return data


def _parse(raw: str, kind: type) -> Any:
    if kind is bool:
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"expected true or false, got {raw!r}")
    return kind(raw)


def overrides_from_env(environ: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Overrides from ``BEEHIVE_ACTOR__<ActorClass>__<SETTING>`` variables.

    For example ``BEEHIVE_ACTOR__PaymentActor__PARALLELISM=8`` or
    ``BEEHIVE_ACTOR__TracingActor__ENABLED=false``.
    """
    environ = os.environ if environ is None else environ
    overrides: dict[str, dict[str, Any]] = {}
    for variable, raw in environ.items():
        if not variable.startswith(ENV_PREFIX):
            continue
        actor, _, setting = variable.removeprefix(ENV_PREFIX).rpartition("__")
        key = setting.lower()
        if not actor or key not in SETTINGS:
            raise ValueError(
                f"{variable}: expected {ENV_PREFIX}<ActorClass>__<SETTING> with SETTING one of "
                f"{', '.join(s.upper() for s in SETTINGS)}"
            )
        try:
            overrides.setdefault(actor, {})[key] = _parse(raw, SETTINGS[key])
        except ValueError as error:
            raise ValueError(f"{variable}: {error}") from None
    return overrides
