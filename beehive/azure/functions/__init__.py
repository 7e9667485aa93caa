"""Actors as Azure Functions (BeeHive.Azure.Functions), on the Python v2 programming model.

``function_app(actors)`` registers one Service Bus trigger function per actor descriptor on a
``func.FunctionApp`` (a new one, or yours) and returns it: a topic trigger for
``"Topic-Subscription"``, a queue trigger for a plain queue, session-enabled when the
descriptor's settings ask for sessions, each on the app setting named ``connection`` (a
connection string, or ``<connection>__fullyQualifiedNamespace`` for a managed identity). Each
invocation builds the actor with its dependencies from ``container`` (the one ``beehive run
--container`` takes), reads the message exactly as the Service Bus operator does (mapping and
claim check), runs the actor, and publishes the events it returns, stamped with correlation
and causation, through ``operator`` (by default the Service Bus operator that ``beehive run
--backend servicebus`` builds from ``BEEHIVE_SERVICEBUS_CONNECTION_STRING`` or
``BEEHIVE_SERVICEBUS_NAMESPACE``).

A failure raises, and the runtime abandons the message: Service Bus counts the delivery and
dead-letters the message at the entity's ``MaxDeliveryCount``. A message that cannot succeed
(``BadEventBody``, ``DeadLetter``, an unreadable message) is dead-lettered at once, with
beehive's reason and metadata, when the function settles its messages itself:
``message_actions`` gives the object that does (the SDK-type binding's
``ServiceBusMessageActions.get_instance``); its functions then register with
``auto_complete_messages=False`` and complete, abandon or dead-letter every message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Final

try:
    import azure.functions as func
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.azure.functions needs azure-functions: "
        "pip install 'beehive-actors[azure-functions]'"
    ) from error

from beehive._di import actor_factory
from beehive.actors import ActorDescriptor
from beehive.azure.functions._invocation import ActorFunction
from beehive.azure.functions._settlement import MessageActions, Settlement
from beehive.errors import ActorConfigurationError
from beehive.queues._factory import operator_for
from beehive.queues.base import QueueOperator
from beehive.versions import Upcasters, upcasting

__all__ = ["MessageActions", "function_app", "function_name"]

ARG_NAME: Final = "message"
"""The trigger's parameter name in every generated function."""
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_-]")


def function_name(descriptor: ActorDescriptor) -> str:
    """The function's name: the actor class and its source, in the characters Functions allows
    (``PaymentActor@OrderAccepted-Payment`` becomes ``PaymentActor_OrderAccepted-Payment``)."""
    name = _UNSAFE.sub("_", f"{descriptor.actor_type.__name__}_{descriptor.source}")
    return name[:128]


def function_app(
    actors: Iterable[ActorDescriptor],
    *,
    operator: Callable[[], QueueOperator] | None = None,
    container: Any | None = None,
    connection: str = "ServiceBusConnection",
    app: func.FunctionApp | None = None,
    message_actions: Callable[[], MessageActions] | None = None,
    upcasters: Upcasters | None = None,
) -> func.FunctionApp:
    """Register one Service Bus trigger function per enabled descriptor; see the module.

    ``operator`` makes the operator events are published through (called once, on the first
    invocation, inside the worker's event loop); ``message_actions`` makes the object that
    settles messages (called then too); ``container`` may be a dependency-injector container
    class or instance. Every actor is checked to be buildable now, so a missing dependency
    fails the app's indexing rather than its first message; an ``idempotent`` or
    ``exclusive`` actor is refused, since a function has no inbox to keep those promises.
    """
    if isinstance(container, type):
        container = container()
    app = app or func.FunctionApp()
    shared = _Shared(operator or (lambda: operator_for("servicebus")), message_actions)
    names: dict[str, str] = {}
    for descriptor in actors:
        if not descriptor.enabled:
            continue
        name = function_name(descriptor)
        if name in names:
            raise ActorConfigurationError(
                f"{descriptor.name} and {names[name]} would both be function {name!r}"
            )
        names[name] = descriptor.name
        if descriptor.idempotent:  # exclusive ones are idempotent too
            raise ActorConfigurationError(
                f"{descriptor.name} is idempotent, and a function runs no inbox: "
                "run it in a host with ActorHost(..., inbox=Inbox(store))"
            )
        factory = actor_factory(descriptor.actor_type, container)
        if upcasters is not None:
            factory = upcasting(factory, upcasters)
        handler = ActorFunction(descriptor, factory, shared.operator, shared.settlement)
        _register(app, name, descriptor, _entry(handler, shared), connection, shared.manual)
    return app


class _Shared:
    """What an app's functions share, built on the first invocation."""

    def __init__(
        self,
        make_operator: Callable[[], QueueOperator],
        make_actions: Callable[[], MessageActions] | None,
    ) -> None:
        self._make_operator = make_operator
        self._make_actions = make_actions
        self._operator: QueueOperator | None = None
        self.settlement = Settlement(None)
        self.manual = make_actions is not None

    async def operator(self) -> QueueOperator:
        if self._operator is None:
            self._operator = self._make_operator()
        return self._operator

    def prepare(self) -> None:
        if self._make_actions is not None and self.settlement.actions is None:
            self.settlement.actions = self._make_actions()


def _entry(handler: ActorFunction, shared: _Shared) -> Callable[..., Any]:
    """The function the worker indexes: its one parameter is the trigger's message."""

    async def entry(message: func.ServiceBusMessage) -> None:
        shared.prepare()
        await handler(message)

    # The worker reads the binding's type from the annotation: a real class, not a string.
    entry.__annotations__ = {ARG_NAME: func.ServiceBusMessage, "return": None}
    entry.__name__ = entry.__qualname__ = function_name(handler.descriptor).replace("-", "_")
    return entry


def _register(
    app: func.FunctionApp,
    name: str,
    descriptor: ActorDescriptor,
    entry: Callable[..., Any],
    connection: str,
    manual: bool,
) -> None:
    queue = descriptor.queue
    options: dict[str, Any] = {
        "arg_name": ARG_NAME,
        "connection": connection,
        "is_sessions_enabled": descriptor.settings.sessions,
    }
    if manual:
        options["auto_complete_messages"] = False
    if queue.is_subscription:
        trigger = app.service_bus_topic_trigger(
            topic_name=queue.topic, subscription_name=str(queue.subscription), **options
        )
    else:
        trigger = app.service_bus_queue_trigger(queue_name=queue.topic, **options)
    trigger(app.function_name(name)(entry))
