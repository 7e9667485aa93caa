"""Building actors with their constructor parameters from a dependency-injector container."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, cast

from dependency_injector.wiring import Provide

from beehive.errors import ActorConfigurationError

# Typed as a Protocol instance in the stubs; at run time it is the marker class.
_PROVIDE = cast(type, Provide)


def _providers(container: Any) -> dict[str, Any]:
    providers = getattr(container, "providers", None)
    return dict(providers) if providers is not None else {}


def _from_marker(container: Any, marker: Any, where: str) -> Any:
    """The container's provider that a ``Provide[...]`` marker points at."""
    target = marker.provider
    if isinstance(target, str):
        provider: Any = container
        for part in target.split("."):
            provider = getattr(provider, part, None)
            if provider is None:
                raise ActorConfigurationError(f"{where}: the container has no provider {target!r}")
        return provider
    # Provide[Container.x] names the declarative class's provider; the instance holds a copy.
    declaration = getattr(container, "declarative_parent", None) or type(container)
    for name, declared in _providers(declaration).items():
        if declared is target:
            return getattr(container, name)
    raise ActorConfigurationError(
        f"{where}: Provide[...] points at a provider not in the container"
    )


def actor_factory(actor_type: type, container: Any | None) -> Callable[[], Any]:
    """A callable creating a fresh actor, each parameter resolved now, once.

    A parameter is filled from a ``Provide[...]`` default, else from the container's provider
    of the same name, else from its own default; anything else is an ActorConfigurationError.
    """
    available = _providers(container) if container is not None else {}
    resolved: dict[str, Any] = {}
    for parameter in list(inspect.signature(actor_type).parameters.values()):
        where = f"actor {actor_type.__qualname__}, parameter {parameter.name!r}"
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if isinstance(parameter.default, _PROVIDE):
            if container is None:
                raise ActorConfigurationError(f"{where}: Provide[...] needs a container")
            resolved[parameter.name] = _from_marker(container, parameter.default, where)
        elif parameter.name in available:
            resolved[parameter.name] = getattr(container, parameter.name)
        elif parameter.default is parameter.empty:
            known = ", ".join(sorted(available)) or "none"
            raise ActorConfigurationError(
                f"{where}: cannot be resolved; the container has no provider of that name "
                f"(providers: {known})"
            )
    if not resolved:
        return actor_type
    items = tuple(resolved.items())
    return lambda: actor_type(**{name: provider() for name, provider in items})
