"""The documented Prismo deployment starts: every app of infra/bicep/prismo.parameters.json,
run by ``beehive run`` with exactly the settings the templates give its container (the
memory broker standing in for Service Bus), and the documented commands deploy those
parameters with an image from a private registry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.deploy.conftest import BICEP
from tests.deploy.documented import (
    commands,
    guide_commands,
    header_commands,
    parameter_files,
    parameter_values,
)
from tests.deploy.hosting import start_every_app


async def test_every_app_of_the_prismo_example_starts_and_stops(
    templates: dict[str, dict[str, Any]],
) -> None:
    parameters = json.loads((BICEP / "prismo.parameters.json").read_text())["parameters"]

    await start_every_app(templates, parameters)


@pytest.mark.parametrize("where", ["main.bicep", "guide"])
def test_the_documented_prismo_deployment_runs_the_container_from_a_private_registry(
    where: str,
) -> None:
    found = header_commands() if where == "main.bicep" else guide_commands("Prismo")
    (topology,) = commands(found, "beehive", "topology")
    (deploy,) = commands(found, "az", "deployment", "group", "create")
    values = parameter_values(deploy)

    # the container that gives the actors their stores, or every replica fails to start
    assert topology[topology.index("--container") + 1] == "samples.prismo.container:deployed"
    assert parameter_files(deploy) == [topology[topology.index("--output") + 1]]
    assert values["image"].startswith(f"{values['registryName']}.azurecr.io/")
    # the guide's Prismo is main.bicep's
    assert topology in commands(header_commands(), "beehive", "topology")
