"""``beehive asyncapi``: an AsyncAPI 3.0 document that the AsyncAPI project's parser accepts.

The parser (npm ``@asyncapi/parser``) is installed into ``.asyncapi/`` by scripts/test
(scripts/_asyncapi.sh); without it these tests skip, or fail under CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from beehive.cli import main
from tests.required import unavailable

ROOT = Path(__file__).resolve().parents[1]
PARSER = ROOT / ".asyncapi" / "node_modules" / "@asyncapi" / "parser"
SCRIPT = Path(__file__).with_name("asyncapi_parser.cjs")
WARNING = 1  # the parser's severities: 0 error, 1 warning, 2 information, 3 hint


def parse(text: str) -> list[dict[str, Any]]:
    """The parser's errors and warnings about ``text`` (information and hints left out)."""
    node = shutil.which("node")
    if node is None or not PARSER.is_dir():
        unavailable("@asyncapi/parser is not installed: run scripts/test (scripts/_asyncapi.sh)")
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=text,
        capture_output=True,
        text=True,
        env={**os.environ, "NODE_PATH": str(PARSER.parents[1])},
        timeout=120,
        check=False,
    )
    assert done.stderr == ""
    diagnostics: list[dict[str, Any]] = json.loads(done.stdout)
    return [d for d in diagnostics if d["severity"] <= WARNING]


def asyncapi(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["asyncapi", *args]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("format", ["json", "yaml"])
def test_prismo_validates_with_the_asyncapi_parser(
    format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = asyncapi(capsys, "samples.prismo.actors", "--format", format)

    assert parse(text) == []


@pytest.mark.parametrize("network", ["shared", "refused", "versioned"])
def test_the_small_networks_beehive_check_faults_still_validate(
    network: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The contract is published even when the network has problems (check is another step):
    two actors on one subscription, names Service Bus refuses, a version-2 model."""
    text = asyncapi(capsys, f"tests.networks.{network}")

    assert parse(text) == []


def test_a_message_gives_its_model_s_version(capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(asyncapi(capsys, "tests.networks.versioned"))

    messages = document["components"]["messages"]
    assert (messages["OrderPlaced"]["x-event-version"], messages["Billed"]["x-event-version"]) == (
        2,
        1,
    )


def test_the_parser_does_report_a_broken_document(capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(asyncapi(capsys, "samples.prismo.actors"))
    del document["channels"]["OrderAccepted"]

    problems = parse(json.dumps(document))

    assert problems
    assert all(p["severity"] == 0 for p in problems)


def test_prismo_channels_operations_and_payloads(capsys: pytest.CaptureFixture[str]) -> None:
    document = json.loads(asyncapi(capsys, "samples.prismo.actors"))

    assert document["asyncapi"] == "3.0.0"
    assert "OrderAccepted" in document["channels"]
    assert document["channels"]["OrderAccepted"]["description"] == (
        "OrderAccepted: published from outside this network"
    )
    receive = document["operations"]["PaymentActor.OrderAccepted-Payment.receive"]
    assert receive["action"] == "receive"
    assert receive["channel"] == {"$ref": "#/channels/OrderAccepted"}
    assert receive["x-servicebus"] == {
        "topic": "OrderAccepted",
        "subscription": "Payment",
        "requiresSession": False,
        "maxDeliveryCount": 10,
        "lockDuration": "PT60S",
        "parallelism": 8,
    }
    send = document["operations"]["PaymentActor.PaymentAuthorised.send"]
    assert send["channel"] == {"$ref": "#/channels/PaymentAuthorised"}
    # payloads are the pydantic models' JSON Schemas, nested models shared in components
    schemas = document["components"]["schemas"]
    message = document["components"]["messages"]["OrderItemsNotYetAccountedFor"]
    assert message["payload"]["schema"] == {
        "$ref": "#/components/schemas/OrderItemsNotYetAccountedFor"
    }
    assert message["x-event-version"] == 1
    items = schemas["OrderItemsNotYetAccountedFor"]["properties"]["items"]
    assert items["items"] == {"$ref": "#/components/schemas/OrderLine"}
    assert schemas["OrderLine"]["required"] == ["product_id", "quantity"]
    # the envelope travels as headers
    assert message["headers"] == {"$ref": "#/components/schemas/BeehiveEnvelope"}
    envelope = schemas["BeehiveEnvelope"]["properties"]
    assert {"id", "correlation_id", "causation_id", "session_id"} <= envelope.keys()


def test_an_event_without_a_model_has_no_payload_and_a_plain_queue_is_an_amqp_queue(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "jobs_app.py").write_text(
        "from beehive import Event, ExternalEvents, actor\n"
        "external = ExternalEvents(inputs=['Jobs'], outputs=['Done'])\n"
        "@actor('Jobs', emits=['Done'])\n"
        "class Worker:\n"
        "    async def process(self, event: Event) -> list[Event]:\n"
        "        return []\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    text = asyncapi(capsys, "jobs_app", "--format", "yaml")
    document = json.loads(asyncapi(capsys, "jobs_app"))

    assert parse(text) == []
    assert document["channels"]["Jobs"]["bindings"]["amqp"]["is"] == "queue"
    assert "payload" not in document["components"]["messages"]["Jobs"]


def test_models_named_through_their_module_in_emits_and_body_as_give_payloads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = asyncapi(capsys, "tests.networks.elsewhere.actors")
    document = json.loads(text)

    assert parse(text) == []
    messages = document["components"]["messages"]
    assert messages["OrderPlaced"]["payload"]["schema"] == {
        "$ref": "#/components/schemas/OrderPlaced"
    }
    assert messages["Shipped"]["summary"] == "An order left the warehouse."
    schemas = document["components"]["schemas"]
    address = schemas["OrderPlaced"]["properties"]["address"]
    assert address == {"$ref": "#/components/schemas/Address"}
    assert schemas["Shipped"]["required"] == ["order_id", "carrier"]


def test_output_goes_to_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    output = tmp_path / "asyncapi.yaml"

    asyncapi(capsys, "samples.prismo.actors", "--format", "yaml", "--output", str(output))

    assert output.read_text().startswith('asyncapi: "3.0.0"\n')
