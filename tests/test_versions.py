"""Event versions: older bodies are upcast before the actor sees them, newer ones dead-lettered."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from beehive import Event, EventVersionError, Upcasters, actor, discover, event_version
from beehive.testing import ActorHarness, RecordingQueueOperator
from beehive.versions import VERSION_PROPERTY, find_upcasters, version_of


class Unversioned(BaseModel):
    order_id: str


@event_version(3)
class OrderPlaced(BaseModel):
    """v1: order_id; v2: + currency; v3: total in cents, not in units."""

    order_id: str
    currency: str
    total_cents: int


upcasters = Upcasters()


@upcasters.register(OrderPlaced, from_version=1)
def add_currency(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "currency": "EUR"}


@upcasters.register(OrderPlaced, from_version=2)
def total_in_cents(body: dict[str, Any]) -> dict[str, Any]:
    total = body.pop("total")
    return {**body, "total_cents": round(total * 100)}


def placed(version: int, body: str) -> Event:
    """An event as a producer of that version sent it (version 1 carried no version)."""
    properties = {} if version == 1 else {VERSION_PROPERTY: version}
    return Event(event_type="OrderPlaced", body=body, properties=properties)


V1 = placed(1, '{"order_id": "o-1", "total": 12.5}')
V2 = placed(2, '{"order_id": "o-2", "currency": "GBP", "total": 3.2}')
V3 = Event(OrderPlaced(order_id="o-3", currency="USD", total_cents=99))


def test_an_event_carries_its_model_s_declared_version() -> None:
    assert V3.properties == {VERSION_PROPERTY: 3}
    assert Event(Unversioned(order_id="o")).properties == {}
    assert (version_of(OrderPlaced), version_of(Unversioned)) == (3, 1)


def test_beehive_send_stamps_the_model_s_version_too() -> None:
    from beehive.sending import Outgoing

    outgoing = Outgoing(
        event_type="OrderPlaced", body={"order_id": "o", "currency": "EUR", "total_cents": 1}
    )
    [event] = outgoing.events({"OrderPlaced": OrderPlaced})

    assert event.properties == {VERSION_PROPERTY: 3}
    assert event.body_as(OrderPlaced).total_cents == 1


def test_upcasters_chain_each_older_version_up_to_the_current_one() -> None:
    assert upcasters.upcast(V1).body_as(OrderPlaced) == OrderPlaced(
        order_id="o-1", currency="EUR", total_cents=1250
    )
    assert upcasters.upcast(V2).body_as(OrderPlaced) == OrderPlaced(
        order_id="o-2", currency="GBP", total_cents=320
    )
    assert upcasters.upcast(V3) is V3
    assert upcasters.upcast(V1).properties[VERSION_PROPERTY] == 3
    assert upcasters.upcast(V1).id == V1.id


def test_reading_another_version_without_upcasting_is_refused_not_mis_read() -> None:
    with pytest.raises(EventVersionError, match=r"is version 1 and OrderPlaced is version 3"):
        V1.body_as(OrderPlaced)
    newer = placed(4, '{"order_id": "o-4"}')
    with pytest.raises(EventVersionError, match=r"version 4, newer than OrderPlaced here"):
        newer.body_as(OrderPlaced)
    with pytest.raises(EventVersionError, match=r"version 4, newer than OrderPlaced here"):
        upcasters.upcast(newer)


def test_a_missing_step_or_a_failing_upcaster_is_an_event_version_error() -> None:
    partial = Upcasters()
    partial.add(OrderPlaced, 2, total_in_cents)
    with pytest.raises(EventVersionError, match="no upcaster goes from version 1 to 2"):
        partial.upcast(V1)
    with pytest.raises(EventVersionError, match="from version 2 failed: KeyError: 'total'"):
        upcasters.upcast(placed(2, '{"order_id": "o", "currency": "EUR"}'))
    with pytest.raises(EventVersionError, match="its body is not a JSON object"):
        upcasters.upcast(placed(2, "[]"))


def test_registration_refuses_steps_the_model_cannot_take() -> None:
    registry = Upcasters()
    with pytest.raises(ValueError, match=r"OrderPlaced is version 3: an upcaster goes from a "):
        registry.add(OrderPlaced, 3, add_currency)
    registry.add(OrderPlaced, 1, add_currency)
    with pytest.raises(ValueError, match="already has an upcaster from version 1"):
        registry.add(OrderPlaced, 1, add_currency)
    with pytest.raises(ValueError, match="an event version is an integer from 1"):
        event_version(0)


@actor("OrderPlaced-Billing")
class BillingActor:
    seen: list[OrderPlaced] = []

    async def process(self, event: Event) -> list[Event]:
        BillingActor.seen.append(event.body_as(OrderPlaced))
        return []


async def test_the_host_upcasts_before_the_actor_and_dead_letters_future_versions() -> None:
    BillingActor.seen = []
    future = placed(4, '{"order_id": "o-4", "amount": {"EUR": 1}}')
    async with ActorHarness(
        discover(BillingActor), upcasters=upcasters, raise_errors=False
    ) as hive:
        await hive.publish(V1, V2, V3, future)
        await hive.wait_idle()
        dead = hive.dead_letters("OrderPlaced-Billing")

    assert sorted(o.order_id for o in BillingActor.seen) == ["o-1", "o-2", "o-3"]
    assert [e.id for e in dead] == [future.id]
    assert dead[0].properties["dead_letter_reason"] == (
        f"BillingActor@OrderPlaced-Billing raised EventVersionError: event OrderPlaced "
        f"{future.id} is version 4, newer than OrderPlaced here (version 3): deploy the "
        "readers before the writers"
    )


async def test_without_upcasters_an_older_event_is_dead_lettered_with_the_remedy() -> None:
    BillingActor.seen = []
    async with ActorHarness(discover(BillingActor), raise_errors=False) as hive:
        await hive.publish(V1)
        await hive.wait_idle()
        dead = hive.dead_letters("OrderPlaced-Billing")

    assert BillingActor.seen == []
    assert "register upcasters for it" in str(dead[0].properties["dead_letter_reason"])


async def test_old_events_dead_lettered_before_the_upcasters_came_are_upcast_on_replay() -> None:
    """A reader deployed with a new model but no upcaster dead-letters the old events; the next
    deploy brings the upcasters, and a replay of the dead-letter queue reads them all."""
    BillingActor.seen = []
    operator = RecordingQueueOperator()
    async with ActorHarness(discover(BillingActor), operator=operator, raise_errors=False) as hive:
        await hive.publish(V1, V2)
        await hive.wait_idle()
    assert BillingActor.seen == []

    async with ActorHarness(
        discover(BillingActor), operator=operator, upcasters=upcasters, raise_errors=False
    ) as hive:
        assert await operator.replay_dead_letters("OrderPlaced-Billing") == 2
        await hive.wait_idle()
        left = await operator.dead_letters("OrderPlaced-Billing")

    assert sorted(o.total_cents for o in BillingActor.seen) == [320, 1250]
    assert left == []


def test_beehive_run_finds_the_module_level_upcasters() -> None:
    import sys

    found = find_upcasters(sys.modules[__name__])

    assert found is not None
    assert found.models == {"OrderPlaced": OrderPlaced}
    assert found.steps(OrderPlaced) == [1, 2]
