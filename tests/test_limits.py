"""What each broker refuses, in the broker's own terms."""

from __future__ import annotations

from beehive.limits import RULES
from beehive.names import QueueName
from beehive.queues.base import QueueSettings

servicebus, rabbitmq, memory = RULES["servicebus"], RULES["rabbitmq"], RULES["memory"]


def test_service_bus_names_start_and_end_with_a_letter_or_digit() -> None:
    assert servicebus.name_problems(QueueName("Paid-Email")) == []
    assert servicebus.name_problems(QueueName("_Paid-Email.")) == [
        "topic name '_Paid' must start and end with a letter or digit on Service Bus",
        "subscription name 'Email.' must start and end with a letter or digit on Service Bus",
    ]


def test_service_bus_length_limits_are_260_for_entities_and_50_for_subscriptions() -> None:
    assert servicebus.name_problems(QueueName("A" * 260 + "-" + "B" * 50)) == []
    assert servicebus.name_problems(QueueName("A" * 261 + "-" + "B" * 51)) == [
        f"topic name '{'A' * 261}' has 261 characters; Service Bus allows at most 260",
        f"subscription name '{'B' * 51}' has 51 characters; Service Bus allows at most 50",
    ]
    assert servicebus.name_problems(QueueName("J" * 261)) == [
        f"queue name '{'J' * 261}' has 261 characters; Service Bus allows at most 260"
    ]


def test_service_bus_compares_names_ignoring_case() -> None:
    assert servicebus.same_entity("OrderPaid", "orderpaid")
    assert not servicebus.same_entity("OrderPaid", "OrderPaid")
    assert not rabbitmq.same_entity("OrderPaid", "orderpaid")


def test_service_bus_settings_limits() -> None:
    assert servicebus.settings_problems(QueueSettings(max_deliveries=2000, lease_seconds=300)) == []
    assert servicebus.settings_problems(QueueSettings(max_deliveries=2001, lease_seconds=4)) == [
        "max_deliveries 2001 is more than Service Bus allows (2000)",
        "lease_seconds 4 is outside the lock durations Service Bus allows (5 to 300 s); "
        "longer work is covered by lease renewal (max_lease_seconds)",
    ]


def test_rabbitmq_reserves_amq_names_and_caps_them_at_255_bytes() -> None:
    assert rabbitmq.name_problems(QueueName("amq.Paid-Email")) == [
        "name 'amq.Paid-Email' starts with 'amq.', which RabbitMQ reserves"
    ]
    assert rabbitmq.name_problems(QueueName("P" * 250 + "-Email")) == [
        f"name '{'P' * 250}-Email' is 256 bytes long; RabbitMQ allows at most 255"
    ]
    assert rabbitmq.settings_problems(QueueSettings(max_deliveries=5000)) == []


def test_memory_takes_every_valid_name() -> None:
    assert memory.name_problems(QueueName("_x_-_y_")) == []
