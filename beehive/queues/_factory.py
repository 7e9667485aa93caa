"""Building a queue operator from settings: a backend name and the environment.

=============  =============================================================================
backend        settings (environment variables)
=============  =============================================================================
memory         none: the embedded broker, in this process
rabbitmq       ``BEEHIVE_RABBITMQ_URL`` (``amqp://user:password@host:5672/vhost``)
servicebus     ``BEEHIVE_SERVICEBUS_CONNECTION_STRING``, or ``BEEHIVE_SERVICEBUS_NAMESPACE``
               (name or FQDN, reached with ``DefaultAzureCredential``: a managed identity)
=============  =============================================================================

The variables are those of :class:`beehive.settings.Settings`. Secrets (the RabbitMQ URL, the
connection string) come from the environment only, never from a command line, where any
process could read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import ValidationError

from beehive import settings
from beehive.queues.base import QueueOperator

BACKENDS: Final = ("memory", "rabbitmq", "servicebus")


def operator_for(
    backend: str,
    environ: Mapping[str, str] | None = None,
    *,
    servicebus_namespace: str | None = None,
) -> QueueOperator:
    """The queue operator for ``backend``, configured from ``environ`` (default: os.environ).

    Nothing connects yet: operators connect on first use. Raises ValueError naming the setting
    that is missing or malformed (never its secret value), and ImportError naming the extra to
    install when the backend's library is missing.
    ``servicebus_namespace`` overrides ``BEEHIVE_SERVICEBUS_NAMESPACE``.
    """
    if backend == "memory":
        from beehive.queues.memory import InMemoryQueueOperator

        return InMemoryQueueOperator()
    if backend == "rabbitmq":
        from beehive.queues.rabbitmq import RabbitMQQueueOperator

        return RabbitMQQueueOperator(_required("rabbitmq_url", environ))
    if backend == "servicebus":
        from beehive.queues.servicebus import ServiceBusQueueOperator

        replay_filters = _setting("servicebus_replay_filters", environ) or "check"
        connection = _setting("servicebus_connection_string", environ)
        if connection:
            return ServiceBusQueueOperator.from_connection_string(
                connection, replay_filters=replay_filters
            )
        namespace = servicebus_namespace or _setting("servicebus_namespace", environ)
        if namespace:
            return ServiceBusQueueOperator.from_namespace(
                fully_qualified(namespace), replay_filters=replay_filters
            )
        raise ValueError(
            f"the servicebus backend needs {settings.variable('servicebus_connection_string')} "
            f"or {settings.variable('servicebus_namespace')} (a managed identity or an az login)"
        )
    raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def _setting(field: str, environ: Mapping[str, str] | None) -> Any:
    """One setting, a secret unwrapped; a bad value is a ValueError naming its variable."""
    try:
        return settings.get(field, environ)
    except ValidationError as error:
        problem = error.errors()[0]["msg"]
        raise ValueError(f"{settings.variable(field)}: {problem}") from None


def _required(field: str, environ: Mapping[str, str] | None) -> str:
    value: str | None = _setting(field, environ)
    if not value:
        raise ValueError(f"the {settings.variable(field)} environment variable is not set")
    return value


def fully_qualified(namespace: str) -> str:
    """``prismo`` and ``prismo.servicebus.windows.net`` both name the same namespace."""
    namespace = namespace.removeprefix("sb://").rstrip("/")
    return namespace if "." in namespace else f"{namespace}.servicebus.windows.net"
