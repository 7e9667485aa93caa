"""The contract of a network: which model each event type has, found from ``emits``, from
``body_as`` calls, from declared externals and from the modules' names."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from beehive import ActorDescriptor, Event, ExternalEvents, actor, discover
from beehive.config import apply_overrides
from beehive.contract import build
from tests.networks.elsewhere import actors, events


def test_models_named_through_another_module_come_from_emits_and_body_as() -> None:
    contract = build(discover(actors))

    assert contract.models == {"OrderPlaced": events.OrderPlaced, "Shipped": events.Shipped}


def test_a_descriptor_keeps_the_models_it_emits_through_a_settings_override() -> None:
    (descriptor,) = discover(actors.ShippingActor)
    (changed,) = apply_overrides([descriptor], {"ShippingActor": {"parallelism": 3}})

    assert descriptor.emitted_models == (events.Shipped,)
    assert (changed.parallelism, changed.emitted_models) == (3, (events.Shipped,))
    assert changed.emits == ("Shipped",)


def test_a_descriptor_built_by_hand_takes_models_or_names() -> None:
    emits = (events.Shipped, "Done")
    descriptor = ActorDescriptor(actors.ShippingActor, "Jobs", emits=emits)  # type: ignore[arg-type]

    assert descriptor.emits == ("Shipped", "Done")
    assert descriptor.emitted_models == (events.Shipped,)


def test_a_body_as_call_names_the_model_of_the_source_topic_only() -> None:
    class Refund(BaseModel):
        order_id: str

    @actor("OrderPlaced-Refunds", emits=["Refunded"])
    class Refunds:
        async def process(self, event: Event) -> list[Event]:
            event.body_as(Refund)  # a model of another name: not OrderPlaced's
            return []

    contract = build(discover(Refunds), [ExternalEvents(inputs=["OrderPlaced"])])

    assert contract.models == {}


def test_declared_externals_win_over_models_found_in_the_actors() -> None:
    class OrderPlaced(BaseModel):
        order_id: str

    contract = build(discover(actors), [ExternalEvents(inputs=[OrderPlaced])])

    assert contract.models["OrderPlaced"] is OrderPlaced


def test_externals_take_models_or_topic_names_and_are_found_in_packages() -> None:
    with pytest.raises(TypeError, match="ExternalEvents takes pydantic model classes or topic"):
        ExternalEvents(inputs=[dict])  # type: ignore[list-item]

    from beehive.contract import find_externals

    (found,) = find_externals("tests.networks.elsewhere")
    assert (found.inputs, found.outputs) == (("OrderPlaced",), ("Shipped",))
