from __future__ import annotations

import dataclasses

import pytest

from beehive import ActorDescriptor, Event, actor, discover
from tests.example_app.actors.payment import PaymentActor
from tests.example_app.actors.shipping import ShippingActor, TracingActor


def test_decorator_records_a_descriptor_with_its_options() -> None:
    (descriptor,) = discover(PaymentActor)

    assert descriptor.actor_type is PaymentActor
    assert descriptor.source == "OrderAccepted-Payment"
    assert descriptor.parallelism == 4
    assert descriptor.max_deliveries == 5
    assert descriptor.emits == ("PaymentAuthorised",)
    assert descriptor.name == "PaymentActor@OrderAccepted-Payment"
    assert dataclasses.is_dataclass(descriptor)
    with pytest.raises(dataclasses.FrozenInstanceError):
        descriptor.parallelism = 2  # type: ignore[misc]


def test_decorators_stack_in_source_order() -> None:
    sources = [d.source for d in discover(TracingActor)]

    assert sources == ["OrderAccepted-Trace", "PaymentAuthorised-Trace", "OrderShipped-Trace"]


def test_discover_imports_a_package_recursively() -> None:
    names = {d.name for d in discover("tests.example_app.actors")}

    assert names == {
        "PaymentActor@OrderAccepted-Payment",
        "ShippingActor@PaymentAuthorised-Shipping",
        "TracingActor@OrderAccepted-Trace",
        "TracingActor@PaymentAuthorised-Trace",
        "TracingActor@OrderShipped-Trace",
    }


def test_discover_reports_each_class_once() -> None:
    descriptors = discover("tests.example_app.actors", ShippingActor, "tests.example_app")

    assert len(descriptors) == 5


def test_subclasses_do_not_inherit_decorations() -> None:
    class Quiet(PaymentActor):
        pass

    with pytest.raises(TypeError, match="not decorated"):
        discover(Quiet)


def test_missing_process_is_a_type_error_at_decoration() -> None:
    with pytest.raises(TypeError, match="no process method"):

        @actor("A-B")
        class NoProcess:
            pass


def test_sync_process_is_a_type_error_at_decoration() -> None:
    with pytest.raises(TypeError, match="coroutine"):

        @actor("A-B")
        class SyncProcess:
            def process(self, event: Event) -> list[Event]:
                return []


def test_bad_queue_name_is_a_value_error_at_decoration() -> None:
    with pytest.raises(ValueError, match="invalid queue name 'Order Accepted-Pay'"):

        @actor("Order Accepted-Pay")
        class Bad:
            async def process(self, event: Event) -> list[Event]:
                return []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"parallelism": 0}, "parallelism"),
        ({"max_deliveries": 0}, "max_deliveries"),
        ({"lease_seconds": 10, "max_lease_seconds": 5}, "max_lease_seconds"),
        ({"emits": ["Not-A-Topic"]}, "topic"),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ActorDescriptor(actor_type=TracingActor, source="A-B", **options)  # type: ignore[arg-type]


def test_descriptors_can_be_built_by_hand() -> None:
    descriptor = ActorDescriptor(TracingActor, "Jobs", parallelism=2, emits=("Done",))

    assert descriptor.queue.topic == "Jobs"
    assert descriptor.settings.max_deliveries == 10
