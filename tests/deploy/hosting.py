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

import httpx

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


AZURE_OUTPUTS = {
    "serviceBus.outputs.fqdn": "sb-example.servicebus.windows.net",
    "storage.outputs.blobEndpoint": ACCOUNT.format("blob"),
    "storage.outputs.tableEndpoint": ACCOUNT.format("table"),
    "identity.outputs.appClientId": "00000000-0000-0000-0000-000000000000",
}
"""What Azure makes during the deployment, for the module outputs a container's settings read."""


def _accessed(expression: Any) -> str | None:
    """``a.b.c`` for pycep's nested property accessors, else None."""
    if isinstance(expression, str):
        return expression
    operator = expression.get("operator", {}) if isinstance(expression, dict) else {}
    if operator.get("type") != "property_accessor":
        return None
    left, right = (_accessed(operator["operands"][k]) for k in ("operand_1", "operand_2"))
    return f"{left}.{right}" if left and right else None


def container_settings(
    templates: dict[str, dict[str, Any]], parameters: dict[str, Any], group: dict[str, Any]
) -> dict[str, str]:
    """The environment of ``group``'s container, worked out from the templates as ARM would:
    each variable containerapp.bicep sets, from the value main.bicep passes it (a parameter of
    the deployment, a field of the group, a module's output) or the module's default. The one
    change: the memory broker for Service Bus."""
    main, app = templates["main.bicep"], templates["modules/containerapp.bicep"]
    passed = main["modules"]["actorHosts"]["config"]["config"]["params"]

    def deployment(name: str) -> Any:
        given = parameters.get(name, {}).get("value")
        return main["parameters"][name]["default"] if given is None else given

    def module_parameter(name: str) -> Any:
        if name not in passed:
            return app["parameters"][name]["default"]
        expression = _accessed(passed[name])
        if expression in main["parameters"]:
            return deployment(expression)
        if expression is not None and expression.startswith("group."):
            return group[expression.removeprefix("group.")]
        if expression in AZURE_OUTPUTS:
            return AZURE_OUTPUTS[expression]
        # a literal (pycep writes it as it writes a reference): no variable, no accessor
        unknown = f"main.bicep passes {name} = {passed[name]}"
        assert isinstance(expression, str), unknown
        assert expression not in main["variables"], unknown
        assert "." not in expression, unknown
        return expression

    def value(expression: Any) -> str:
        if isinstance(expression, dict):  # string(parameter), the only function used
            (argument,) = expression["function"]["parameters"].values()
            assert expression["function"]["type"] == "string", expression
            return str(module_parameter(argument))
        # pycep writes a literal and a reference alike: a parameter's name is a reference
        return str(module_parameter(expression)) if expression in app["parameters"] else expression

    settings = {s["name"]: value(s["value"]) for s in app["variables"]["settings"]["value"]}
    assert settings["BEEHIVE_BACKEND"] == "servicebus"
    return settings | {"BEEHIVE_BACKEND": "memory"}


def _messages(lines: bytes) -> list[str]:
    """The log lines' messages; a line that is no JSON (``beehive: error: ...``) as it is."""
    return [
        json.loads(line)["message"] if line.startswith(b"{") else line.decode()
        for line in lines.splitlines()
    ]


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
        while True:
            try:
                if (await get(port, "/readyz"))[0] == 200:
                    break
            except httpx.ConnectError:  # no longer listening: the host is exiting
                rest = _messages(await process.stderr.read())
                raise AssertionError(f"exited before ready: {messages + rest}") from None
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        code = await process.wait()
        messages += _messages(await process.stderr.read())
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
