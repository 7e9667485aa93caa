from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from beehive import BadEventBody, BeeHiveError, Event


class OrderAccepted(BaseModel):
    order_id: str
    quantity: int = 1


def test_event_from_a_model_takes_type_topic_and_body() -> None:
    event = Event(OrderAccepted(order_id="o-1"))

    assert event.event_type == "OrderAccepted"
    assert event.queue_name == "OrderAccepted"
    assert event.body_as(OrderAccepted) == OrderAccepted(order_id="o-1")
    assert event.content_type == "application/json"
    assert event.timestamp.tzinfo is not None
    assert event.delivery_count == 0


def test_every_event_has_its_own_identity() -> None:
    first, second = Event(OrderAccepted(order_id="o-1")), Event(OrderAccepted(order_id="o-1"))

    assert first.id != second.id
    assert first.body == second.body


def test_keywords_override_fields() -> None:
    event = Event(OrderAccepted(order_id="o-1"), queue_name="Jobs", session_id="o-1")

    assert event.queue_name == "Jobs"
    assert event.session_id == "o-1"
    assert event.event_type == "OrderAccepted"


def test_keywords_only_build_an_envelope_from_json_text() -> None:
    event = Event(event_type="NewsPulse", body="{}", properties={"n": 1, "urgent": True})

    assert event.queue_name == "NewsPulse"
    assert event.properties == {"n": 1, "urgent": True}


def test_events_are_immutable() -> None:
    event = Event(event_type="Ping")

    with pytest.raises(ValidationError, match="frozen"):
        event.body = "changed"  # type: ignore[misc]


def test_event_round_trips_through_json() -> None:
    event = Event(
        OrderAccepted(order_id="o-1"),
        correlation_id="c",
        enqueue_time=datetime(2030, 1, 1, tzinfo=UTC),
    )

    assert Event.model_validate_json(event.model_dump_json()) == event


def test_body_as_names_type_id_and_errors() -> None:
    event = Event(event_type="OrderAccepted", body='{"quantity": "many"}')

    with pytest.raises(BadEventBody) as caught:
        event.body_as(OrderAccepted)

    message = str(caught.value)
    assert "OrderAccepted" in message
    assert event.id in message
    assert "order_id" in message
    assert "quantity" in message
    assert isinstance(caught.value, BeeHiveError)


def test_body_as_rejects_invalid_json() -> None:
    with pytest.raises(BadEventBody, match="Invalid JSON"):
        Event(event_type="OrderAccepted", body="{not json").body_as(OrderAccepted)


def test_naive_timestamps_and_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Event(event_type="Ping", timestamp=datetime(2026, 1, 1))
    with pytest.raises(ValidationError, match="extra"):
        Event(event_type="Ping", colour="blue")


def test_positional_argument_must_be_a_model() -> None:
    with pytest.raises(TypeError, match="pydantic model"):
        Event({"order_id": "o-1"})  # type: ignore[arg-type]
