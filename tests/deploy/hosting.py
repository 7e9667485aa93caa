"""Run a deployed app's host here: ``beehive run`` with the environment containerapp.bicep
gives its container, the memory broker standing in for Service Bus (which cannot run here).

The stores are built from the storage endpoints as in Azure, and are not contacted while no
message arrives.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from typing import Any

from tests.cli.http import get
from tests.deploy.conftest import BIN, ROOT

ACCOUNT = "https://stexample.{}.core.windows.net/"


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without its ``BEEHIVE_`` variables, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEEHIVE_")}
    return env | settings


async def beehive_run(**settings: str) -> asyncio.subprocess.Process:
    """``beehive run`` configured by variables only, as in a container, its JSON log lines on
    stderr; the endpoint on a free port of the loopback interface."""
    local = {"BEEHIVE_HOST": "127.0.0.1", "BEEHIVE_PORT": "0", "BEEHIVE_LOG_FORMAT": "json"}
    return await asyncio.create_subprocess_exec(
        str(BIN / "beehive"),
        "run",
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
        env=environment(**(settings | local)),
    )


def container_settings(
    templates: dict[str, dict[str, Any]], parameters: dict[str, Any], group: dict[str, Any]
) -> dict[str, str]:
    """The container's environment for ``group``: every variable containerapp.bicep sets."""
    containerapp = templates["modules/containerapp.bicep"]
    grace = containerapp["parameters"]["stopGraceSeconds"]["default"]
    settings = {
        "BEEHIVE_MODULES": parameters["modules"]["value"],
        "BEEHIVE_CONTAINER": parameters["container"]["value"],
        "BEEHIVE_ONLY": group["only"],
        "BEEHIVE_EXCEPT": "",
        "BEEHIVE_BACKEND": "memory",  # servicebus in Azure
        "BEEHIVE_SERVICEBUS_NAMESPACE": "sb-example.servicebus.windows.net",
        "BEEHIVE_SERVICEBUS_REPLAY_FILTERS": "trust",
        "BEEHIVE_STORAGE_BLOB_ENDPOINT": ACCOUNT.format("blob"),
        "BEEHIVE_STORAGE_TABLE_ENDPOINT": ACCOUNT.format("table"),
        "BEEHIVE_PORT": "8080",
        "BEEHIVE_GRACE": str(grace),
        "BEEHIVE_LOG_FORMAT": "json",
        "AZURE_CLIENT_ID": "00000000-0000-0000-0000-000000000000",
    }
    declared = {s["name"] for s in containerapp["variables"]["settings"]["value"]}
    assert set(settings) == declared, "containerapp.bicep's settings changed: mirror them here"
    return settings


async def start_then_stop(settings: dict[str, str]) -> tuple[int, list[str]]:
    """Run the host until it is ready, then SIGTERM it: its exit code and log messages."""
    process = await beehive_run(**settings)
    assert process.stderr is not None
    messages: list[str] = []
    try:
        port = 0
        while not port:
            line = await process.stderr.readline()
            assert line, f"exited before listening: {messages}"
            entry = json.loads(line)
            messages.append(entry["message"])
            port = entry.get("port", 0)
        while (await get(port, "/readyz"))[0] != 200:
            assert process.returncode is None
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        code = await process.wait()
        rest = await process.stderr.read()
        messages += [json.loads(line)["message"] for line in rest.splitlines()]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return code, messages


async def start_every_app(
    templates: dict[str, dict[str, Any]], parameters: dict[str, Any], **image: str
) -> None:
    """Start and stop the host of every group, four at a time; each starts its own actors.

    ``image`` holds what the image's ``ENV`` sets (its app directory)."""
    groups = parameters["groups"]["value"]
    four_at_a_time = asyncio.Semaphore(4)

    async def run(group: dict[str, Any]) -> tuple[int, list[str]]:
        async with four_at_a_time:
            settings = container_settings(templates, parameters, group)
            return await start_then_stop(settings | image)

    async with asyncio.timeout(90), asyncio.TaskGroup() as apps:
        runs = [apps.create_task(run(group)) for group in groups]

    for group, (code, messages) in zip(groups, [r.result() for r in runs], strict=True):
        assert code == 0, (group["name"], messages)
        running = next(m for m in messages if m.startswith("running "))
        assert all(actor in running for actor in group["only"].split(",")), running
        assert messages[-1] == "stopped"
