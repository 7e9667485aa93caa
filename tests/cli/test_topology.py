"""``beehive topology``: what the actors need from the broker, in three formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from beehive import ActorDescriptor, Event, actor, discover
from beehive.cli import main
from beehive.cli._common import CommandError
from beehive.cli._groups import Group, groups
from beehive.cli.topology import Deployment, as_table, bicep_parameters, build

APP = "tests.example_app.actors"


@actor("Jobs", parallelism=3, lease_seconds=90, sessions=True, emits=["Done"])
class JobActor:
    async def process(self, event: Event) -> list[Event]:
        return []


@actor("Done-Audit", lease_seconds=300.5)
class AuditActor:
    async def process(self, event: Event) -> list[Event]:
        return []


def test_topics_come_from_subscriptions_and_from_what_actors_emit() -> None:
    topology = build(discover(APP, JobActor))

    assert topology.topics == ("Done", "OrderAccepted", "OrderShipped", "PaymentAuthorised")
    assert [str(s.name) for s in topology.subscriptions] == [
        "OrderAccepted-Payment",
        "OrderAccepted-Trace",
        "OrderShipped-Trace",
        "PaymentAuthorised-Shipping",
        "PaymentAuthorised-Trace",
    ]
    (jobs,) = topology.queues
    assert (str(jobs.name), jobs.sessions, jobs.parallelism) == ("Jobs", True, 3)
    assert jobs.lock_duration == "PT1M30S"


def test_disabled_actors_need_nothing() -> None:
    import dataclasses

    descriptors = [dataclasses.replace(d, enabled=False) for d in discover(JobActor)]

    assert build(descriptors).queues == ()


def test_actors_sharing_a_queue_add_their_parallelism_and_must_agree_on_settings() -> None:
    @actor("Jobs", parallelism=2)
    class Other:
        async def process(self, event: Event) -> list[Event]:
            return []

    agreeing = [ActorDescriptor(Other, "Jobs", parallelism=2, lease_seconds=90, sessions=True)]
    (jobs,) = build([*discover(JobActor), *agreeing]).queues

    assert jobs.parallelism == 5
    assert jobs.actors == ("JobActor@Jobs", "Other@Jobs")
    with pytest.raises(CommandError, match="JobActor@Jobs and Other@Jobs read Jobs with different"):
        build([*discover(JobActor, Other)])


def deployment(*descriptors: ActorDescriptor, grouping: str = "single") -> Deployment:
    return Deployment(("app",), groups(descriptors, grouping), descriptors)


def test_the_bicep_parameters_hold_entities_settings_and_scale_rules() -> None:
    descriptors = discover(APP, JobActor)
    parameters = bicep_parameters(build(descriptors), deployment(*descriptors))["parameters"]

    assert parameters["topics"]["value"][0] == "Done"
    assert parameters["subscriptions"]["value"][0] == {
        "topic": "OrderAccepted",
        "name": "Payment",
        "maxDeliveryCount": 5,
        "lockDuration": "PT1M",
        "requiresSession": False,
    }
    assert parameters["queues"]["value"] == [
        {"name": "Jobs", "maxDeliveryCount": 10, "lockDuration": "PT1M30S", "requiresSession": True}
    ]
    (app,) = parameters["groups"]["value"]
    assert app["name"] == "all"
    assert app["only"] == "PaymentActor,ShippingActor,TracingActor,JobActor"
    rules = {rule["name"]: rule["metadata"] for rule in app["scaleRules"]}
    assert rules["orderaccepted-payment"] == {
        "topicName": "OrderAccepted",
        "subscriptionName": "Payment",
        "messageCount": "20",  # parallelism 4, five waiting messages per worker
    }
    assert rules["jobs"] == {"queueName": "Jobs", "messageCount": "15"}
    assert len(rules) == len(parameters["subscriptions"]["value"]) + 1


def test_a_lease_service_bus_cannot_lock_is_refused_for_bicep() -> None:
    with pytest.raises(CommandError, match=r"Done-Audit: lease_seconds 300.5 is outside"):
        bicep_parameters(build(discover(AuditActor)), deployment(*discover(AuditActor)))


def test_the_table_lists_each_topic_with_its_subscriptions() -> None:
    table = as_table(build(discover(APP)))

    lines = table.splitlines()
    assert lines[0].split() == [
        "ENTITY",
        "KIND",
        "MAX",
        "DELIVERIES",
        "LEASE",
        "SESSIONS",
        "ACTORS",
    ]
    assert lines[1].split() == ["OrderAccepted", "topic"]
    assert lines[2].split() == [
        "OrderAccepted-Payment",
        "subscription",
        "5",
        "60s",
        "no",
        "PaymentActor@OrderAccepted-Payment",
    ]


def test_json_groups_subscriptions_under_their_topic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topology", APP, "--format", "json"]) == 0

    data = json.loads(capsys.readouterr().out)
    by_topic = {t["name"]: [s["name"] for s in t["subscriptions"]] for t in data["topics"]}
    assert by_topic["PaymentAuthorised"] == [
        "PaymentAuthorised-Shipping",
        "PaymentAuthorised-Trace",
    ]
    assert data["queues"] == []


def test_bicep_output_goes_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "app.parameters.json"

    assert main(["topology", APP, "--format", "bicep", "--output", str(target)]) == 0

    assert capsys.readouterr().out == ""
    written = json.loads(target.read_text())
    assert written["contentVersion"] == "1.0.0.0"
    assert set(written["parameters"]) == {"modules", "topics", "subscriptions", "queues", "groups"}
    assert written["parameters"]["modules"]["value"] == APP


def test_an_unwritable_output_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "out.json"

    assert main(["topology", APP, "--format", "bicep", "--output", str(target)]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_by_default_each_module_of_actors_is_an_app_scaled_on_what_its_actors_read() -> None:
    descriptors = discover(APP, JobActor)

    apps = {a["name"]: a for a in deployment(*descriptors, grouping="module").apps()}

    assert {name: a["only"] for name, a in apps.items()} == {
        "payment": "PaymentActor",
        "shipping": "ShippingActor,TracingActor",
        "test-topology": "JobActor",
    }
    shipping = {r["name"]: r["metadata"]["messageCount"] for r in apps["shipping"]["scaleRules"]}
    assert shipping == {
        "orderaccepted-trace": "5",
        "ordershipped-trace": "5",
        "paymentauthorised-shipping": "5",
        "paymentauthorised-trace": "5",
    }
    assert [r["name"] for r in apps["payment"]["scaleRules"]] == ["orderaccepted-payment"]


def test_an_actor_disabled_everywhere_runs_in_no_app() -> None:
    import dataclasses

    descriptors = [
        dataclasses.replace(d, enabled=d.actor_type.__name__ not in ("PaymentActor", "JobActor"))
        for d in discover(APP, JobActor)
    ]

    apps = {a["name"]: a["only"] for a in deployment(*descriptors, grouping="module").apps()}

    # no app for a module of disabled actors: it would read subscriptions never created
    assert apps == {"shipping": "ShippingActor,TracingActor"}
    assert groups(descriptors, "single") == (Group("all", ("ShippingActor", "TracingActor")),)


def test_one_app_per_actor_class_or_one_for_all() -> None:
    descriptors = discover(APP)

    assert groups(descriptors, "actor") == (
        Group("payment", ("PaymentActor",)),
        Group("shipping", ("ShippingActor",)),
        Group("tracing", ("TracingActor",)),
    )
    assert groups(descriptors, "single") == (
        Group("all", ("PaymentActor", "ShippingActor", "TracingActor")),
    )


def test_named_groups_come_first_and_the_rest_follow_the_grouping(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "app.parameters.json"
    argv = ["topology", APP, "--format", "bicep", "--output", str(target)]

    code = main([*argv, "--group", "checkout=PaymentActor+ShippingActor", "--groups", "actor"])

    assert code == 0, capsys.readouterr().err
    apps = json.loads(target.read_text())["parameters"]["groups"]["value"]
    assert {a["name"]: a["only"] for a in apps} == {
        "checkout": "PaymentActor,ShippingActor",
        "tracing": "TracingActor",
    }


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--group", "Checkout=PaymentActor"], "group name 'Checkout': use a lower-case letter"),
        (["--group", "a-very-long-group-name=PaymentActor"], "up to 15 lower-case letters"),
        # Container Apps refuses "--" in an app's name, and a trailing "-"
        (["--group", "pay--out=PaymentActor"], "group name 'pay--out': use a lower-case letter"),
        (["--group", "pay-=PaymentActor"], "no '--', not ending with '-'"),
        (["--group", "pay=Nobody"], "--group pay: no actor class named Nobody; known: "),
        (["--group", "pay"], "--group takes NAME=ACTOR+ACTOR..., not 'pay'"),
        (
            ["--group", "a=PaymentActor", "--group", "b=PaymentActor"],
            "PaymentActor is in two groups: a and b",
        ),
        (["--groups", "team"], "--groups 'team': Input should be 'module', 'actor' or 'single'"),
        (["--name", "my-shop"], "--name 'my-shop': use 3 to 12 lower-case letters and digits"),
        (["--name", "shop_1"], "it starts the storage account's name, which allows nothing else"),
    ],
)
def test_bad_groups_and_names_are_refused_with_what_is_allowed(
    option: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["topology", APP, "--format", "bicep", *option])

    assert code == 2
    assert message in capsys.readouterr().err


def test_the_deployment_name_and_container_go_into_the_parameters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["topology", APP, "--format", "bicep", "--name", "shop1"]

    code = main([*argv, "--container", "tests.example_app.services:Container"])

    parameters = json.loads(capsys.readouterr().out)["parameters"]
    assert code == 0
    assert parameters["name"] == {"value": "shop1"}
    assert parameters["container"] == {"value": "tests.example_app.services:Container"}


def test_sql_needs_no_modules_and_names_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["topology", "--format", "sql", "--schema", 'shop "eu"']) == 0
    sql = capsys.readouterr().out
    assert 'CREATE SCHEMA IF NOT EXISTS "shop ""eu"""' in sql
    assert sql.count("TABLE IF NOT EXISTS") == 6

    assert main(["topology", "--format", "sql", "--schema", "x" * 64]) == 2
    assert "63 bytes" in capsys.readouterr().err
