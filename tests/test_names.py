from __future__ import annotations

import pytest

from beehive import QueueName


def test_topic_dash_subscription_is_a_subscription() -> None:
    name = QueueName("OrderAccepted-Payment")

    assert name.is_subscription
    assert (name.topic, name.subscription) == ("OrderAccepted", "Payment")
    assert str(name) == "OrderAccepted-Payment"


def test_a_bare_name_is_a_plain_queue() -> None:
    name = QueueName("Jobs")

    assert not name.is_subscription
    assert not name.is_topic
    assert (name.topic, name.subscription) == ("Jobs", None)


def test_topic_of_names_the_topic() -> None:
    name = QueueName.topic_of("OrderAccepted")

    assert name.is_topic
    assert name != QueueName("OrderAccepted")
    assert repr(name) == "QueueName.topic_of('OrderAccepted')"


@pytest.mark.parametrize("bad", ["", "a-b-c", "Order Accepted", "Orders-", "-Sub", "Ä$", "a/b"])
def test_bad_names_are_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(ValueError, match="letters, digits") as caught:
        QueueName(bad)
    assert repr(bad) in str(caught.value)


def test_names_are_values() -> None:
    assert QueueName("A-B") == QueueName(QueueName("A-B"))
    assert len({QueueName("A-B"), QueueName("A-B")}) == 1
    with pytest.raises(AttributeError):
        QueueName("A-B").topic = "C"  # type: ignore[misc]
