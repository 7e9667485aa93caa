from __future__ import annotations

from pathlib import Path

import pytest

from beehive import (
    ActorDescriptor,
    ActorHost,
    apply_overrides,
    discover,
    overrides_from_env,
    overrides_from_toml,
)
from beehive.queues import InMemoryQueueOperator
from tests.example_app.actors.shipping import TracingActor

DESCRIPTORS = discover("tests.example_app.actors")


def by_name(descriptors: list[ActorDescriptor], name: str) -> ActorDescriptor:
    return next(d for d in descriptors if d.name == name)


def test_overrides_by_class_apply_to_every_source_and_by_name_win() -> None:
    overrides = {
        "TracingActor": {"parallelism": 3},
        "TracingActor@OrderShipped-Trace": {"parallelism": 7, "enabled": False},
    }

    result = apply_overrides(DESCRIPTORS, overrides)

    assert by_name(result, "TracingActor@OrderAccepted-Trace").parallelism == 3
    shipped = by_name(result, "TracingActor@OrderShipped-Trace")
    assert (shipped.parallelism, shipped.enabled) == (7, False)
    assert by_name(result, "PaymentActor@OrderAccepted-Payment").parallelism == 4


def test_overrides_from_toml(tmp_path: Path) -> None:
    path = tmp_path / "actors.toml"
    path.write_text("[PaymentActor]\nparallelism = 8\nlease_seconds = 30\n")

    result = apply_overrides(DESCRIPTORS, overrides_from_toml(path))

    payment = by_name(result, "PaymentActor@OrderAccepted-Payment")
    assert (payment.parallelism, payment.lease_seconds) == (8, 30.0)


def test_overrides_from_environment_variables() -> None:
    environ = {
        "BEEHIVE_ACTOR__PaymentActor__MAX_DELIVERIES": "3",
        "BEEHIVE_ACTOR__PaymentActor__IDEMPOTENT": "true",
        "BEEHIVE_ACTOR__TracingActor__ENABLED": "false",
        "PATH": "/bin",
    }

    overrides = overrides_from_env(environ)

    assert {actor: settings.changes() for actor, settings in overrides.items()} == {
        "PaymentActor": {"max_deliveries": 3, "idempotent": True},
        "TracingActor": {"enabled": False},
    }
    payment = by_name(apply_overrides(DESCRIPTORS, overrides), "PaymentActor@OrderAccepted-Payment")
    assert payment.idempotent


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"PaymentActor": {"colour": "blue"}},
            "colour of actor PaymentActor: unknown setting.*allowed: parallelism",
        ),
        (
            {"PaymentActor": {"parallelism": "many"}},
            "parallelism of actor PaymentActor: Input should be a valid integer",
        ),
        ({"PaymentActor": {"parallelism": 0}}, "greater than or equal to 1"),
        (
            {"PaymentActr": {"parallelism": 2}},
            "PaymentActr, which is no actor here; known: "
            "PaymentActor, PaymentActor@OrderAccepted-Payment, ShippingActor",
        ),
    ],
)
def test_bad_overrides_say_what_is_allowed(
    overrides: dict[str, dict[str, object]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        apply_overrides(DESCRIPTORS, overrides)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BEEHIVE_ACTOR__PaymentActor__SPEED", "1", "PaymentActor__SPEED: unknown setting"),
        ("BEEHIVE_ACTOR__PaymentActor__ENABLED", "maybe", "ENABLED: Input should be a valid bool"),
        ("BEEHIVE_ACTOR__PaymentActor__PARALLELISM", "x", "PARALLELISM: Input should be a valid"),
    ],
)
def test_bad_environment_variables_name_the_variable(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        overrides_from_env({variable: value})


def test_disabled_descriptors_do_not_run() -> None:
    result = apply_overrides(discover(TracingActor), {"TracingActor": {"enabled": False}})

    assert ActorHost(InMemoryQueueOperator(), result).descriptors == []


def test_variables_lose_their_case_but_still_find_the_actor() -> None:
    overrides = overrides_from_env({"beehive_actor__paymentactor__parallelism": "9"})

    payment = by_name(apply_overrides(DESCRIPTORS, overrides), "PaymentActor@OrderAccepted-Payment")
    assert payment.parallelism == 9


def test_a_variable_naming_no_actor_is_an_error_listing_the_known_ones() -> None:
    overrides = overrides_from_env({"BEEHIVE_ACTOR__PaymentActr__PARALLELISM": "2"})

    with pytest.raises(ValueError, match="PaymentActr, which is no actor here; known: Payment"):
        apply_overrides(DESCRIPTORS, overrides)


def test_a_toml_table_naming_no_actor_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "actors.toml"
    path.write_text("[Nobody]\nparallelism = 2\n")

    with pytest.raises(ValueError, match="Nobody, which is no actor here; known: "):
        apply_overrides(DESCRIPTORS, overrides_from_toml(path))


def test_a_bad_toml_value_names_the_file_table_and_key(tmp_path: Path) -> None:
    path = tmp_path / "actors.toml"
    path.write_text("[PaymentActor]\nlease_seconds = -1\n")

    with pytest.raises(ValueError, match=r"actors.toml: \[PaymentActor\] lease_seconds: Input"):
        overrides_from_toml(path)
