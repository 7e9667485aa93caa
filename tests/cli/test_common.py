"""The command line's shared behaviour: environment defaults, selection, and clean errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from beehive import discover
from beehive.cli import main
from beehive.cli._common import CommandError, make_operator, select
from beehive.queues.memory import InMemoryQueueOperator

APP = "tests.example_app.actors"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["topology", "tests.no_such_module"], "cannot import 'tests.no_such_module'"),
        (["topology", "tests.example_app.models"], "no @actor classes found"),
        (["topology", APP, "--only", "Nobody"], "no actor named Nobody; known:"),
        (["topology", APP, "--format", "yaml"], "--format 'yaml': Input should be 'table', 'json'"),
        (["run", APP, "--port", "99999"], "--port '99999': Input should be less than or equal to"),
        (["run", APP, "--log-level", "LOUD"], "Input should be 'DEBUG', 'INFO', 'WARNING' or"),
        (["topology"], "name the modules holding your actors"),
        (["run", APP, "--container", "tests.example_app.services"], "module:Container"),
        (["run", APP, "--container", "tests.example_app.services:Nope"], "has no 'Nope'"),
        (["run", APP, "--backend", "kafka"], "Input should be 'memory', 'rabbitmq' or"),
        (["run", APP, "--backend", "rabbitmq"], "BEEHIVE_RABBITMQ_URL"),
        (["run", APP, "--backend", "servicebus"], "BEEHIVE_SERVICEBUS_NAMESPACE"),
        (["run", APP, "--log-format", "xml"], "--log-format 'xml': Input should be 'text'"),
        (["run", APP, "--config", "/no/such/file.toml"], "bad actor configuration"),
    ],
)
def test_a_mistake_is_one_line_on_stderr_and_exit_code_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, *argv)

    assert code == 2
    assert out == ""
    assert err.startswith("beehive: error: ")
    assert message in err
    assert err.count("\n") == 1


def test_a_module_failing_at_import_names_the_cause_without_a_traceback(
    tmp_path: pytest.TempPathFactory,
) -> None:
    broken = tmp_path / "broken_actors.py"  # type: ignore[operator]
    broken.write_text("import nothing_here_at_all\n")

    result = subprocess.run(
        [sys.executable, "-m", "beehive", "topology", "broken_actors", "--app-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stderr == (
        "beehive: error: cannot import 'broken_actors': "
        "ModuleNotFoundError: No module named 'nothing_here_at_all' "
        f"({broken}, line 1)\n"
    )
    assert "Traceback" not in result.stderr


def test_options_default_to_their_environment_variables(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEEHIVE_MODULES", APP)
    monkeypatch.setenv("BEEHIVE_ONLY", "PaymentActor, ShippingActor")
    monkeypatch.setenv("BEEHIVE_TOPOLOGY_FORMAT", "json")

    code, out, _ = run_cli(capsys, "topology")

    assert code == 0
    assert '"OrderAccepted-Payment"' in out
    assert '"PaymentAuthorised-Shipping"' in out
    assert "Trace" not in out


def test_the_command_line_wins_over_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEEHIVE_TOPOLOGY_FORMAT", "json")

    code, out, _ = run_cli(capsys, "topology", APP, "--format", "table")

    assert code == 0
    assert out.startswith("ENTITY")


def test_a_bad_number_in_the_environment_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEEHIVE_PORT", "eighty")

    code, _, err = run_cli(capsys, "run", APP)

    assert code == 2
    assert err == (
        "beehive: error: BEEHIVE_PORT='eighty' (--port): Input should be a valid integer, "
        "unable to parse string as an integer\n"
    )


def test_the_environment_is_read_only_for_the_command_that_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEEHIVE_PORT", "eighty")
    monkeypatch.setenv("BEEHIVE_TOPOLOGY_FORMAT", "json")

    assert run_cli(capsys, "topology", APP)[0] == 0
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    with pytest.raises(SystemExit):
        main(["topology", "--help"])
    assert "(default: table)" in capsys.readouterr().out, "help shows the code's default"


def test_per_actor_settings_come_from_the_environment_too(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEEHIVE_ACTOR__PaymentActor__MAX_DELIVERIES", "3")

    code, out, _ = run_cli(capsys, "topology", APP, "--only", "PaymentActor")

    assert code == 0
    assert "OrderAccepted-Payment  subscription  3 " in out


def test_selection_by_class_name_or_descriptor_name() -> None:
    descriptors = discover(APP)

    only_tracing = select(descriptors, ["TracingActor"], [])
    all_but_one_trace = select(descriptors, [], ["TracingActor@OrderShipped-Trace"])
    tracing_but_one = select(descriptors, ["TracingActor"], ["TracingActor@OrderShipped-Trace"])

    assert {d.actor_type.__name__ for d in only_tracing} == {"TracingActor"}
    assert len(only_tracing) == 3
    assert len(all_but_one_trace) == len(descriptors) - 1
    assert [d.source for d in tracing_but_one] == ["OrderAccepted-Trace", "PaymentAuthorised-Trace"]


def test_excluding_every_actor_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(
        capsys, "topology", APP, "--except", "PaymentActor", "ShippingActor", "TracingActor"
    )

    assert code == 2
    assert "left no actor to run" in err


async def test_backends_are_built_from_the_environment() -> None:
    from beehive.queues.rabbitmq import RabbitMQQueueOperator
    from beehive.queues.servicebus import ServiceBusQueueOperator

    memory = make_operator("memory", {})
    rabbit = make_operator("rabbitmq", {"BEEHIVE_RABBITMQ_URL": "amqp://u:secret@host:5672/"})
    by_identity = make_operator("servicebus", {}, servicebus_namespace="prismo")
    by_string = make_operator(
        "servicebus",
        {
            "BEEHIVE_SERVICEBUS_CONNECTION_STRING": (
                "Endpoint=sb://prismo.servicebus.windows.net/;SharedAccessKeyName=k;"
                "SharedAccessKey=c2VjcmV0"
            )
        },
    )

    try:
        assert isinstance(memory, InMemoryQueueOperator)
        assert isinstance(rabbit, RabbitMQQueueOperator)
        assert "secret" not in repr(rabbit)
        assert isinstance(by_identity, ServiceBusQueueOperator)
        assert "prismo.servicebus.windows.net" in repr(by_identity)
        assert isinstance(by_string, ServiceBusQueueOperator)
        assert "prismo.servicebus.windows.net" in repr(by_string)
    finally:
        for operator in (memory, rabbit, by_identity, by_string):
            await operator.close()


def test_a_malformed_connection_string_is_reported_without_its_content() -> None:
    with pytest.raises(CommandError, match="malformed Service Bus connection string") as caught:
        make_operator("servicebus", {"BEEHIVE_SERVICEBUS_CONNECTION_STRING": "SharedAccessKey=x"})

    assert "SharedAccessKey=x" not in str(caught.value)


def test_help_names_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--help"])

    out = capsys.readouterr().out
    assert exited.value.code == 0
    for variable in ("BEEHIVE_MODULES", "BEEHIVE_BACKEND", "BEEHIVE_PORT", "BEEHIVE_GRACE"):
        assert variable in out


def make_container() -> object:
    from tests.example_app.services import Container

    return Container()


def failing_factory() -> object:
    raise RuntimeError("BEEHIVE_STORAGE_TABLE_ENDPOINT is not set")


def test_a_container_is_an_instance_a_class_or_a_factory() -> None:
    from beehive.cli._common import load_container
    from tests.example_app.services import PaymentGateway

    from_class = load_container("tests.example_app.services:Container")
    from_factory = load_container("tests.cli.test_common:make_container")

    assert isinstance(from_class.payment_gateway(), PaymentGateway)
    assert isinstance(from_factory.payment_gateway(), PaymentGateway)
    assert load_container(None) is None
    with pytest.raises(CommandError, match=r"cannot create .*:failing_factory: RuntimeError"):
        load_container("tests.cli.test_common:failing_factory")
