"""Actors as Azure Functions, without the Functions host: the generated functions' bindings, and
each function invoked with ``azure.functions`` Service Bus messages, decoded by that library's
own converter from the trigger metadata the host sends, publishing to the Service Bus fake and
to the in-memory operator.

Settlement by the function goes through the host's gRPC settlement service, which cannot run
here: ``RecordingActions`` stands in for ``ServiceBusMessageActions`` (same three methods).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest
from azure.functions import meta
from azure.functions.servicebus import ServiceBusMessageInConverter
from azure.servicebus import ServiceBusMessage
from dependency_injector import containers, providers
from pydantic import BaseModel

from beehive import (
    ActorDescriptor,
    BadEventBody,
    DeadLetter,
    Event,
    Upcasters,
    actor,
    discover,
    event_version,
)
from beehive.azure.functions import function_app, function_name
from beehive.errors import ActorConfigurationError
from beehive.queues import InMemoryQueueOperator
from beehive.queues.servicebus._mapping import to_message
from beehive.stores.memory import InMemoryKeyValueStore
from tests.queues.servicebus_fake import FakeNamespace
from tests.queues.test_servicebus import csharp_message, make_operator


class OrderAccepted(BaseModel):
    order_id: str


class PaymentAuthorised(BaseModel):
    order_id: str
    payment_id: str


class Gateway:
    def authorise(self, order_id: str) -> str:
        return f"pay-{order_id}"


class Container(containers.DeclarativeContainer):
    gateway = providers.Singleton(Gateway)


seen: list[Event] = []


@actor("OrderAccepted-Payment", emits=[PaymentAuthorised])
class Payment:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    async def process(self, event: Event) -> list[Event]:
        seen.append(event)
        order = event.body_as(OrderAccepted)
        if order.order_id == "bad":
            raise BadEventBody("order id 'bad' is not an order")
        if order.order_id == "refused":
            raise DeadLetter("refused by policy")
        if order.order_id == "flaky":
            raise ConnectionError("gateway down")
        paid = PaymentAuthorised(order_id=order.order_id, payment_id=self.gateway.authorise("x"))
        return [Event(paid)]


@actor("Jobs", sessions=True)
class Job:
    async def process(self, event: Event) -> list[Event]:
        seen.append(event)
        return []


@event_version(2)
class Refunded(BaseModel):
    """Version 1 had ``amount`` in euros; version 2 counts cents."""

    order_id: str
    cents: int


refund_upcasters = Upcasters()


@refund_upcasters.register(Refunded, from_version=1)
def _to_cents(body: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": body["order_id"], "cents": round(body["amount"] * 100)}


@actor("Refunded-Ledger")
class Ledger:
    async def process(self, event: Event) -> list[Event]:
        seen.append(event)
        event.body_as(Refunded)
        return []


@pytest.fixture(autouse=True)
def _forget() -> Iterator[None]:
    seen.clear()
    yield
    seen.clear()


class RecordingActions:
    """Stands in for ``ServiceBusMessageActions``: records each settlement by lock token."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, dict[str, Any]]] = []

    def complete(self, message: Any) -> None:
        self.calls.append(("complete", message.lock_token, {}))

    def abandon(self, message: Any) -> None:
        self.calls.append(("abandon", message.lock_token, {}))

    def deadletter(
        self,
        message: Any,
        deadletter_reason: str | None = None,
        deadletter_error_description: str | None = None,
    ) -> None:
        fields = {"reason": deadletter_reason, "description": deadletter_error_description}
        self.calls.append(("deadletter", message.lock_token, fields))


def delivered(sent: ServiceBusMessage, *, delivery_count: int = 1) -> func.ServiceBusMessage:
    """``sent`` as a Service Bus trigger hands it to a Python function: decoded by
    ``azure.functions`` from the body and the trigger metadata the host sends."""
    properties = {
        (k.decode() if isinstance(k, bytes) else k): (v["VALUE"] if isinstance(v, dict) else v)
        for k, v in (sent.application_properties or {}).items()
    }
    fields: dict[str, Any] = {
        "MessageId": sent.message_id,
        "ContentType": sent.content_type,
        "CorrelationId": sent.correlation_id,
        "SessionId": sent.session_id,
        "Subject": sent.subject,
        "Label": sent.subject,
        "LockToken": str(uuid.uuid4()),
        "EnqueuedTimeUtc": datetime.now(UTC).isoformat(),
    }
    metadata = {
        key: meta.Datum(value, "string") for key, value in fields.items() if value is not None
    }
    metadata["DeliveryCount"] = meta.Datum(delivery_count, "int")
    metadata["ApplicationProperties"] = meta.Datum(json.dumps(properties), "json")
    metadata["UserProperties"] = meta.Datum(json.dumps(properties), "json")
    body = b"".join(sent.body) if not isinstance(sent.body, bytes) else sent.body
    message = ServiceBusMessageInConverter.decode(
        meta.Datum(body, "bytes"), trigger_metadata=metadata
    )
    assert isinstance(message, func.ServiceBusMessage)
    return message


_indexed: dict[int, tuple[func.FunctionApp, dict[str, Any]]] = {}


def functions(app: func.FunctionApp) -> dict[str, Any]:
    """The app's functions by name, indexed once, as the worker does (a second indexing of
    one app fails its unique-name check)."""
    if id(app) not in _indexed or _indexed[id(app)][0] is not app:
        _indexed[id(app)] = (app, {f.get_function_name(): f for f in app.get_functions()})
    return _indexed[id(app)][1]


async def invoke(app: func.FunctionApp, name: str, message: func.ServiceBusMessage) -> None:
    await functions(app)[name].get_user_function()(message)


def order(order_id: str, **fields: Any) -> Event:
    return Event(OrderAccepted(order_id=order_id), **fields)


PAYMENT = "Payment_OrderAccepted-Payment"


# -- bindings ------------------------------------------------------------------------------------


def test_one_trigger_per_descriptor_on_its_topic_subscription_or_queue() -> None:
    app = function_app(discover(Payment, Job), container=Container, connection="Bus")

    found = {name: json.loads(f.get_function_json()) for name, f in functions(app).items()}

    assert found[PAYMENT]["bindings"] == [
        {
            "direction": "IN",
            "type": "serviceBusTrigger",
            "name": "message",
            "connection": "Bus",
            "topicName": "OrderAccepted",
            "subscriptionName": "Payment",
            "isSessionsEnabled": False,
        }
    ]
    assert found["Job_Jobs"]["bindings"] == [
        {
            "direction": "IN",
            "type": "serviceBusTrigger",
            "name": "message",
            "connection": "Bus",
            "queueName": "Jobs",
            "isSessionsEnabled": True,
        }
    ]


def test_settling_functions_turn_the_runtimes_auto_completion_off() -> None:
    app = function_app(discover(Job), message_actions=RecordingActions)

    (binding,) = json.loads(functions(app)["Job_Jobs"].get_function_json())["bindings"]

    assert binding["autoCompleteMessages"] is False


def test_the_functions_join_an_app_of_your_own() -> None:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @app.route("health")
    def health(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse("ok")

    returned = function_app(discover(Job), app=app)

    assert returned is app
    assert set(functions(app)) == {"health", "Job_Jobs"}


def test_disabled_actors_get_no_function_and_names_must_differ() -> None:
    disabled = ActorDescriptor(Job, "Jobs", enabled=False)
    assert functions(function_app([disabled])) == {}

    @actor("Jobs")
    class Other:
        async def process(self, event: Event) -> list[Event]:
            return []

    Other.__name__ = "Job"
    with pytest.raises(ActorConfigurationError, match="would both be function 'Job_Jobs'"):
        function_app(discover(Job, Other))


def test_an_actor_whose_dependency_is_missing_fails_at_indexing() -> None:
    with pytest.raises(ActorConfigurationError, match="gateway"):
        function_app(discover(Payment))


def test_actors_that_need_an_inbox_are_refused() -> None:
    with pytest.raises(ActorConfigurationError, match="runs no inbox"):
        function_app([ActorDescriptor(Job, "Jobs", idempotent=True)])


def test_names_keep_only_what_functions_allow() -> None:
    assert function_name(ActorDescriptor(Job, "Order.Placed-Audit")) == "Job_Order_Placed-Audit"


# -- invocations ---------------------------------------------------------------------------------


async def test_an_invocation_runs_the_actor_and_publishes_through_service_bus() -> None:
    namespace = FakeNamespace()
    async with make_operator(namespace) as admin:
        await admin.setup_queue("PaymentAuthorised-Receipt")
        app = function_app(
            discover(Payment), operator=lambda: make_operator(namespace), container=Container
        )
        accepted = order("o-1", correlation_id="journey-1", properties={"tenant": "t1"})

        await invoke(app, PAYMENT, delivered(to_message(accepted), delivery_count=2))

        (received,) = seen
        (paid,) = await admin.next("PaymentAuthorised-Receipt", wait=1)
    assert received.model_dump(exclude={"delivery_count"}) == accepted.model_dump(
        exclude={"delivery_count"}
    )
    assert received.delivery_count == 2
    assert paid.body_as(PaymentAuthorised) == PaymentAuthorised(order_id="o-1", payment_id="pay-x")
    assert paid.correlation_id == "journey-1"
    assert paid.causation_id == accepted.id


async def test_an_invocation_publishes_through_the_in_memory_operator() -> None:
    memory = InMemoryQueueOperator()
    await memory.setup_queue("PaymentAuthorised-Receipt")
    app = function_app(discover(Payment), operator=lambda: memory, container=Container)
    accepted = order("o-2")

    await invoke(app, PAYMENT, delivered(to_message(accepted)))

    (paid,) = await memory.next("PaymentAuthorised-Receipt", wait=1)
    assert paid.correlation_id == accepted.id
    assert paid.causation_id == accepted.id


async def test_an_event_from_csharp_beehive_is_read_as_the_csharp_operator_reads_it() -> None:
    namespace = FakeNamespace()
    async with make_operator(namespace) as admin:
        await admin.setup_queue("PaymentAuthorised-Receipt")
        app = function_app(
            discover(Payment),
            operator=lambda: make_operator(namespace, compatibility="csharp"),
            container=Container,
        )
        sent = csharp_message('{"order_id": "o-3"}', "OrderAccepted", TraceId=str(uuid.uuid4()))

        await invoke(app, PAYMENT, delivered(sent))

        (received,) = seen
        assert (received.event_type, received.id) == ("OrderAccepted", sent.message_id)
        (paid,) = await admin.next("PaymentAuthorised-Receipt", wait=1)
        assert paid.causation_id == sent.message_id


async def test_a_message_delivered_again_publishes_the_same_events() -> None:
    memory = InMemoryQueueOperator()
    await memory.setup_queue("PaymentAuthorised-Receipt")
    app = function_app(discover(Payment), operator=lambda: memory, container=Container)
    sent = to_message(order("o-4"))

    await invoke(app, PAYMENT, delivered(sent, delivery_count=1))
    await invoke(app, PAYMENT, delivered(sent, delivery_count=2))

    first, again = await memory.next("PaymentAuthorised-Receipt", max_count=2, wait=1)
    assert first.id == again.id


async def test_a_session_message_keeps_its_session() -> None:
    app = function_app(discover(Job), operator=InMemoryQueueOperator)
    job = Event(event_type="Job", queue_name="Jobs", body="{}", session_id="customer-7")

    await invoke(app, "Job_Jobs", delivered(to_message(job)))

    assert seen[0].session_id == "customer-7"


async def test_a_claim_checked_body_is_loaded_from_the_operators_store() -> None:
    namespace, store = FakeNamespace(), InMemoryKeyValueStore()
    big = order("o-3")
    await store.put("claims/o-3", big.body.encode())
    async with make_operator(namespace) as admin:
        await admin.setup_queue("PaymentAuthorised-Receipt")
        app = function_app(
            discover(Payment),
            operator=lambda: make_operator(namespace, claim_check=store),
            container=Container,
        )

        await invoke(app, PAYMENT, delivered(to_message(big, claim_check="claims/o-3")))

        (paid,) = await admin.next("PaymentAuthorised-Receipt", wait=1)
    assert seen[0].body == big.body
    assert paid.causation_id == big.id


# -- failures and settlement ---------------------------------------------------------------------


async def test_older_events_are_upcast_and_future_ones_dead_lettered_with_the_reason() -> None:
    actions = RecordingActions()
    app = function_app(
        discover(Ledger),
        operator=InMemoryQueueOperator,
        upcasters=refund_upcasters,
        message_actions=lambda: actions,
    )
    old = Event(event_type="Refunded", body='{"order_id": "o-1", "amount": 2.5}')
    future = Event(event_type="Refunded", body="{}", properties={"event_version": 3})

    await invoke(app, "Ledger_Refunded-Ledger", delivered(to_message(old)))
    await invoke(app, "Ledger_Refunded-Ledger", delivered(to_message(future)))

    assert [e.body_as(Refunded) for e in seen] == [Refunded(order_id="o-1", cents=250)]
    assert [call for call, _, _ in actions.calls] == ["complete", "deadletter"]
    assert actions.calls[1][2]["reason"] == (
        f"Ledger@Refunded-Ledger raised EventVersionError: event Refunded {future.id} is "
        "version 3, newer than Refunded here (version 2): deploy the readers before the writers"
    )


async def test_a_failure_raises_for_the_runtime_to_abandon() -> None:
    app = function_app(discover(Payment), operator=InMemoryQueueOperator, container=Container)

    with pytest.raises(ConnectionError, match="gateway down"):
        await invoke(app, PAYMENT, delivered(to_message(order("flaky"))))


@pytest.mark.parametrize(
    ("order_id", "error", "reason"),
    [
        ("bad", BadEventBody, "raised BadEventBody: order id 'bad' is not an order"),
        ("refused", DeadLetter, "raised DeadLetter: refused by policy"),
    ],
)
async def test_without_settlement_a_hopeless_message_still_fails(
    order_id: str, error: type[Exception], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = function_app(discover(Payment), operator=InMemoryQueueOperator, container=Container)

    with pytest.raises(error):
        await invoke(app, PAYMENT, delivered(to_message(order(order_id))))

    assert reason in caplog.text
    assert "MaxDeliveryCount" in caplog.text


async def test_a_settling_function_completes_abandons_and_dead_letters_at_once() -> None:
    actions = RecordingActions()
    memory = InMemoryQueueOperator()
    await memory.setup_queue("PaymentAuthorised")
    app = function_app(
        discover(Payment),
        operator=lambda: memory,
        container=Container,
        message_actions=lambda: actions,
    )
    good, flaky, bad = (delivered(to_message(order(o))) for o in ("o-4", "flaky", "bad"))

    await invoke(app, PAYMENT, good)
    with pytest.raises(ConnectionError):
        await invoke(app, PAYMENT, flaky)
    await invoke(app, PAYMENT, bad)

    assert [(call, token) for call, token, _ in actions.calls] == [
        ("complete", good.lock_token),
        ("abandon", flaky.lock_token),
        ("deadletter", bad.lock_token),
    ]
    fields = actions.calls[2][2]
    assert fields["reason"] == (
        "Payment@OrderAccepted-Payment raised BadEventBody: order id 'bad' is not an order"
    )
    description = json.loads(fields["description"])
    assert description["actor"] == "Payment@OrderAccepted-Payment"
    assert description["error_type"] == "BadEventBody"
    assert description["delivery_count"] == 1


async def test_an_unreadable_message_is_dead_lettered_with_the_operators_reason() -> None:
    actions = RecordingActions()
    app = function_app(
        discover(Payment),
        operator=lambda: make_operator(FakeNamespace(), claim_check=InMemoryKeyValueStore()),
        container=Container,
        message_actions=lambda: actions,
    )

    await invoke(app, PAYMENT, delivered(to_message(order("o-5"), claim_check="gone")))

    ((call, _, fields),) = actions.calls
    assert call == "deadletter"
    assert fields["reason"] == "ClaimCheckMissing"
    assert seen == []


async def test_the_default_operator_is_service_bus_from_beehives_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BEEHIVE_SERVICEBUS_CONNECTION_STRING", raising=False)
    monkeypatch.delenv("BEEHIVE_SERVICEBUS_NAMESPACE", raising=False)
    app = function_app(discover(Job))
    job = delivered(to_message(Event(event_type="Job", body="{}")))

    with pytest.raises(ValueError, match="BEEHIVE_SERVICEBUS_CONNECTION_STRING"):
        await invoke(app, "Job_Jobs", job)

    monkeypatch.setenv(
        "BEEHIVE_SERVICEBUS_CONNECTION_STRING",
        "Endpoint=sb://example.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s",
    )
    await invoke(app, "Job_Jobs", job)  # nothing to publish: nothing connects
    assert len(seen) == 1
