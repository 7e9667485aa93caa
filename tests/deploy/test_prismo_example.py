"""The documented Prismo deployment starts: every app of infra/bicep/prismo.parameters.json,
run by ``beehive run`` with exactly the settings containerapp.bicep gives its container (the
memory broker standing in for Service Bus)."""

from __future__ import annotations

import json
from typing import Any

from tests.deploy.conftest import BICEP
from tests.deploy.hosting import start_every_app


async def test_every_app_of_the_prismo_example_starts_and_stops(
    templates: dict[str, dict[str, Any]],
) -> None:
    parameters = json.loads((BICEP / "prismo.parameters.json").read_text())["parameters"]

    await start_every_app(templates, parameters)
