"""infra/bicep: parsed with pycep, checked for what the deployment must hold."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from beehive.cli import main
from beehive.cli._groups import MAX_GROUP_NAME
from beehive.cli.topology import DEPLOYMENT_NAME
from tests.deploy.conftest import BICEP, dump
from tests.deploy.documented import GUIDE, commands, header_commands

MODULES = {
    "identity": "modules/identity.bicep",
    "monitoring": "modules/monitoring.bicep",
    "serviceBus": "modules/servicebus.bicep",
    "storage": "modules/storage.bicep",
    "appEnvironment": "modules/environment.bicep",
    "actorHosts": "modules/containerapp.bicep",
}
ROLES = {
    "acrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "serviceBusDataOwner": "090c5cfd-751d-490a-894a-3ce6f1109419",
    "serviceBusDataReceiver": "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0",
    "serviceBusDataSender": "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39",
    "storageBlobDataContributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "storageTableDataContributor": "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3",
}


def resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(template.get("resources", {}))


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources(template).items() if r["type"] == kind}


def config(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's body (inside its ``[for ...]`` loop or ``if`` condition, if any)."""
    body = resource["config"]
    return dict(body["config"] if "loop_type" in body or "condition" in body else body)


def test_main_wires_every_module(templates: dict[str, dict[str, Any]]) -> None:
    main_modules = templates["main.bicep"]["modules"]

    assert {name: m["detail"]["path"] for name, m in main_modules.items()} == MODULES
    assert set(templates) == {"main.bicep", *MODULES.values()}
    outputs = set(templates["main.bicep"]["outputs"])
    assert {"serviceBusFqdn", "blobEndpoint", "tableEndpoint", "appClientId"} <= outputs
    assert "containerApps" in outputs


def test_service_bus_entities_come_from_the_topology_parameters(
    templates: dict[str, dict[str, Any]],
) -> None:
    servicebus = templates["modules/servicebus.bicep"]
    namespace = config(resources(servicebus)["namespace"])
    subscription = config(resources(servicebus)["subscriptionResources"])
    queue = config(resources(servicebus)["queueResources"])

    assert namespace["properties"]["disableLocalAuth"] is True
    assert namespace["properties"]["minimumTlsVersion"] == "1.2"
    for entity in (subscription, queue):
        properties = entity["properties"]
        assert properties["deadLetteringOnMessageExpiration"] is True
        assert {"maxDeliveryCount", "lockDuration", "requiresSession"} <= set(properties)
    rule = config(resources(servicebus)["replayRules"])
    assert rule["name"] == "$Default"
    # pycep keeps Bicep's escapes: \' is a quote inside the string. The same filter as
    # ServiceBusQueueOperator.setup_queue, so dead-letter replay works on deployed topics.
    assert rule["properties"]["sqlFilter"]["sqlExpression"] == (
        r"NOT EXISTS([beehive.replay_to]) OR [beehive.replay_to] = \'${subscription.name}\'"
    )
    allowed = [d["argument"] for d in servicebus["parameters"]["sku"]["decorators"]]
    assert ["Standard", "Premium"] in allowed
    assert servicebus["parameters"]["sku"]["default"] == "Standard"


@pytest.mark.parametrize(
    ("module", "scope", "expected"),
    [
        (
            "modules/servicebus.bicep",
            "namespace",
            {"serviceBusDataSender", "serviceBusDataReceiver", "serviceBusDataOwner"},
        ),
        (
            "modules/storage.bicep",
            "account",
            {"storageBlobDataContributor", "storageTableDataContributor"},
        ),
        ("modules/environment.bicep", "registry", {"acrPull"}),
    ],
)
def test_role_assignments_are_scoped_to_the_namespace_and_the_account(
    templates: dict[str, dict[str, Any]], module: str, scope: str, expected: set[str]
) -> None:
    template = templates[module]
    assignments = of_type(template, "Microsoft.Authorization/roleAssignments")
    variables = dump(template["variables"])

    assert all(config(a)["scope"] == scope for a in assignments.values())
    assert all(
        config(a)["properties"]["principalType"] == "ServicePrincipal" for a in assignments.values()
    )
    assert {name for name, guid in ROLES.items() if guid in variables} == expected
    assert len(assignments) == len(expected)


def test_the_host_identity_gets_no_manage_right(templates: dict[str, dict[str, Any]]) -> None:
    assignments = of_type(
        templates["modules/servicebus.bicep"], "Microsoft.Authorization/roleAssignments"
    )

    by_principal = {
        config(a)["properties"]["principalId"]: dump(config(a)["properties"]["roleDefinitionId"])
        for a in assignments.values()
    }

    assert "dataOwner" in by_principal["scalerPrincipalId"]
    assert "dataOwner" not in dump([v for k, v in by_principal.items() if k == "appPrincipalId"])


def test_storage_is_private_to_entra_id(templates: dict[str, dict[str, Any]]) -> None:
    storage = templates["modules/storage.bicep"]
    properties = config(resources(storage)["account"])["properties"]

    assert properties["allowBlobPublicAccess"] is False
    assert properties["minimumTlsVersion"] == "TLS1_2"
    assert properties["allowSharedKeyAccess"] == "allowSharedKeyAccess"
    assert storage["parameters"]["allowSharedKeyAccess"]["default"] is False
    assert templates["main.bicep"]["parameters"]["allowSharedKeyAccess"]["default"] is False


def app_config(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return config(resources(templates["modules/containerapp.bicep"])["app"])


def test_the_app_has_no_secret_anywhere(templates: dict[str, dict[str, Any]]) -> None:
    containerapp = templates["modules/containerapp.bicep"]
    app = app_config(templates)
    settings = containerapp["variables"]["settings"]["value"]

    assert "secrets" not in app["properties"]["configuration"]
    assert all(set(setting) == {"name", "value"} for setting in settings)  # no secretRef
    names = {setting["name"] for setting in settings}
    assert not any(re.search("CONNECTION|KEY|PASSWORD|SECRET", name) for name in names)
    assert {"BEEHIVE_SERVICEBUS_NAMESPACE", "AZURE_CLIENT_ID", "BEEHIVE_MODULES"} <= names
    assert "connectionString" not in dump(containerapp).lower()


def test_the_app_probes_the_host_endpoint(templates: dict[str, dict[str, Any]]) -> None:
    (container,) = app_config(templates)["properties"]["template"]["containers"]

    probes = {p["type"]: p["httpGet"]["path"] for p in container["probes"]}

    assert probes == {"Startup": "/healthz", "Liveness": "/healthz", "Readiness": "/readyz"}


def test_the_scaler_identity_is_for_the_scale_rules_only(
    templates: dict[str, dict[str, Any]],
) -> None:
    app = app_config(templates)
    attached = app["identity"]["userAssignedIdentities"]

    lifecycles = {
        s["identity"]: s["lifecycle"]
        for s in app["properties"]["configuration"]["identitySettings"]
    }

    # both attached (the scale rules need the scaler's), but only the host's reaches the container
    assert set(attached) == {"'${appIdentityId}'", "'${scalerIdentityId}'"}
    assert lifecycles == {"appIdentityId": "Main", "scalerIdentityId": "None"}


def test_probes_wait_long_enough_for_a_cold_start_on_half_a_core(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["modules/containerapp.bicep"]
    (container,) = app_config(templates)["properties"]["template"]["containers"]
    probes = {p["type"]: p for p in container["probes"]}
    timeout = template["variables"]["probeTimeoutSeconds"]["value"]
    startup = probes["Startup"]

    assert all(p["timeoutSeconds"] == "probeTimeoutSeconds" for p in probes.values())
    assert timeout >= 5
    # within Container Apps' limits: initial delay 60 s at most, 10 failures at most
    assert startup["initialDelaySeconds"] <= 60
    assert startup["failureThreshold"] <= 10
    window = startup["initialDelaySeconds"] + startup["periodSeconds"] * startup["failureThreshold"]
    assert window >= 90
    assert template["parameters"]["cpu"]["default"] == "0.5"


def test_the_kill_comes_after_the_grace_period_and_the_close(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["modules/containerapp.bicep"]
    settings = {s["name"]: s["value"] for s in template["variables"]["settings"]["value"]}
    grace = app_config(templates)["properties"]["template"]["terminationGracePeriodSeconds"]

    assert dump(settings["BEEHIVE_GRACE"]).count("stopGraceSeconds") == 1
    assert dump(grace).count("stopGraceSeconds") == 1
    assert "closeSeconds" in dump(grace)
    assert template["parameters"]["closeSeconds"]["default"] >= 5


def test_scale_rules_are_keda_service_bus_rules_with_the_scaler_identity(
    templates: dict[str, dict[str, Any]],
) -> None:
    scale = app_config(templates)["properties"]["template"]["scale"]
    rule = scale["rules"]

    assert rule["loop_type"]["detail"]["array_name"] == "scaleRules"
    custom = rule["config"]["custom"]
    assert custom["type"] == "azure-servicebus"
    assert custom["identity"] == "scalerIdentityId"
    assert "namespace" in dump(custom["metadata"])
    assert scale["minReplicas"] == "minReplicas"
    assert scale["maxReplicas"] == "maxReplicas"


def test_the_generated_parameters_cover_main_bicep(templates: dict[str, dict[str, Any]]) -> None:
    declared = templates["main.bicep"]["parameters"]
    generated = json.loads((BICEP / "prismo.parameters.json").read_text())["parameters"]

    required = {name for name, p in declared.items() if p["default"] is None}
    assert set(generated) <= set(declared)
    # what the README passes on the command line
    assert required - set(generated) == {"image"}


def documented_topology_command() -> list[str]:
    """The ``beehive topology`` command main.bicep's header gives for Prismo, as arguments."""
    ((_, *arguments),) = commands(header_commands(), "beehive", "topology")
    return arguments


def test_the_committed_prismo_parameters_are_what_the_documented_command_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = documented_topology_command()
    output = command.index("--output") + 1
    assert command[output] == "infra/bicep/prismo.parameters.json"
    command[output] = str(tmp_path / "prismo.parameters.json")

    code = main(command)

    assert code == 0, capsys.readouterr().err
    assert Path(command[output]).read_text() == (BICEP / "prismo.parameters.json").read_text(), (
        f"the topology changed: run `beehive {' '.join(documented_topology_command())}` and "
        "commit the result"
    )


def test_prismo_has_one_scale_rule_per_subscription_in_the_app_reading_it() -> None:
    parameters = json.loads((BICEP / "prismo.parameters.json").read_text())["parameters"]
    subscriptions = parameters["subscriptions"]["value"]
    groups = parameters["groups"]["value"]

    by_source = [
        (r["metadata"].get("topicName"), r["metadata"].get("subscriptionName"))
        for group in groups
        for r in group["scaleRules"]
    ]

    assert sorted(by_source) == sorted((s["topic"], s["name"]) for s in subscriptions)
    for group in groups:
        names = [r["name"] for r in group["scaleRules"]]
        assert len(set(names)) == len(names)
        assert all(re.fullmatch(r"[a-z][a-z0-9-]*[a-z0-9]", name) for name in names)
    assert {"FraudCheckFailed", "OrderAccepted"} <= set(parameters["topics"]["value"])


def test_prismo_runs_as_one_app_per_module_with_the_tracer_apart() -> None:
    parameters = json.loads((BICEP / "prismo.parameters.json").read_text())["parameters"]
    groups = {g["name"]: g for g in parameters["groups"]["value"]}

    assert parameters["modules"]["value"] == "samples.prismo.actors"
    assert parameters["container"]["value"] == "samples.prismo.container:deployed"
    assert set(groups) == {
        "cancellation",
        "fraud",
        "fulfilment",
        "inventory",
        "notification",
        "payment",
        "replenishment",
        "tracing",
    }
    assert groups["tracing"]["only"] == "TracingActor"
    # the tracer's 14 low targets no longer size the business actors' apps
    assert {r["metadata"]["messageCount"] for r in groups["tracing"]["scaleRules"]} == {"5"}
    assert all(len(g["only"].split(",")) <= 4 for g in groups.values())


def test_the_name_main_bicep_takes_is_the_one_beehive_topology_checks(
    templates: dict[str, dict[str, Any]],
) -> None:
    """ARM checks a parameter's length, not its characters: ``beehive topology --name``
    refuses a name that would break the storage account's (``my-shop``) with what is allowed,
    and the template's lengths are the same."""
    main_bicep = templates["main.bicep"]
    name = main_bicep["parameters"]["name"]
    limits = {d["type"]: d["argument"] for d in name["decorators"]}
    account = main_bicep["modules"]["storage"]["config"]["params"]["accountName"]["function"]
    app_name = main_bicep["modules"]["actorHosts"]["config"]["config"]["params"]["appName"]

    assert (limits["min_length"], limits["max_length"]) == (3, 12)
    for length in range(1, 15):
        fits = limits["min_length"] <= length <= limits["max_length"]
        assert bool(DEPLOYMENT_NAME.fullmatch("a" * length)) == fits
    assert DEPLOYMENT_NAME.fullmatch(name["default"])
    assert not DEPLOYMENT_NAME.fullmatch("my-shop")
    # the account: 'st', the name, then uniqueString's 13 lower-case letters and digits
    assert account == {
        "type": "take",
        "parameters": {"original_value": "st${name}${suffix}", "number_to_take": 24},
    }
    # the longest name and group name still make a container app name (32 at most)
    assert app_name == "ca-${name}-${group.name}"
    assert len(f"ca-{'n' * limits['max_length']}-{'g' * MAX_GROUP_NAME}") <= 32


def test_the_guide_states_the_template_s_probes_and_grace_arithmetic(
    templates: dict[str, dict[str, Any]],
) -> None:
    template = templates["modules/containerapp.bicep"]
    (container,) = app_config(templates)["properties"]["template"]["containers"]
    probes = {p["type"]: p for p in container["probes"]}
    startup = probes["Startup"]
    delay, period, failures = (
        startup[k] for k in ("initialDelaySeconds", "periodSeconds", "failureThreshold")
    )
    defaults = {name: p["default"] for name, p in template["parameters"].items()}
    guide = " ".join(GUIDE.read_text().split())

    timeout = template["variables"]["probeTimeoutSeconds"]["value"]
    assert f"Each probe waits {timeout} s for an answer" in guide
    times = "\N{MULTIPLICATION SIGN}"
    assert f"{delay} s + {period} {times} {failures} s = {delay + period * failures} s" in guide
    assert f"liveness checks `/healthz` every {probes['Liveness']['periodSeconds']} s" in guide
    assert f"every {probes['Readiness']['periodSeconds']} s." in guide
    assert f"(`BEEHIVE_GRACE`, {defaults['stopGraceSeconds']} s by default)" in guide
    assert f"`stopGraceSeconds + closeSeconds` ({defaults['closeSeconds']} s for" in guide
