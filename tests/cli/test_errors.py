"""Every command-line path ends in one line and a documented exit code, never a traceback.

Each case runs the real command in its own process, as a user would.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from beehive.cli import execute

APP = "tests.example_app.actors"
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def beehive(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "beehive", *argv],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The one line on stderr of a command that exited with ``code``."""
    assert "Traceback" not in result.stderr
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_the_environment_is_read_only_by_the_command_that_runs() -> None:
    version = beehive("--version", env={"BEEHIVE_PORT": "abc"})
    helped = beehive("run", "--help", env={"BEEHIVE_PORT": "4242", "BEEHIVE_BACKEND": "rabbitmq"})
    topology = beehive("topology", APP, env={"BEEHIVE_PORT": "abc"})
    run = beehive("run", APP, env={"BEEHIVE_PORT": "abc"})

    assert version.returncode == 0
    assert version.stdout.startswith("beehive ")
    assert helped.returncode == 0
    assert "(default: 8080)" in helped.stdout
    assert "(default: memory)" in helped.stdout
    assert "4242" not in helped.stdout
    assert topology.returncode == 0
    assert one_line(run, 2).startswith("beehive: error: BEEHIVE_PORT='abc' (--port): ")


def test_a_port_out_of_range_is_one_line() -> None:
    line = one_line(beehive("run", APP, "--port", "99999"), 2)

    assert line == "beehive: error: --port '99999': Input should be less than or equal to 65535\n"


def test_an_unknown_log_level_lists_the_levels() -> None:
    line = one_line(beehive("run", APP, "--log-level", "LOUD"), 2)

    assert line == (
        "beehive: error: --log-level 'LOUD': "
        "Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'\n"
    )


@pytest.mark.parametrize(
    ("source", "cause", "line"),
    [
        ("import os\nraise RuntimeError('no config')\n", "RuntimeError: no config", 2),
        ("\n\nimport nothing_here_at_all\n", "No module named 'nothing_here_at_all'", 3),
        ("def broken(:\n    pass\n", "SyntaxError", 1),
        ("from pydantic import BaseModel\nclass A(BaseModel):\n    x: 'Nope' = 1\nA(x=2)\n", "", 4),
    ],
)
def test_an_error_in_the_users_module_names_its_file_and_line(
    tmp_path: Path, source: str, cause: str, line: int
) -> None:
    (tmp_path / "broken_actors.py").write_text(source)

    message = one_line(beehive("topology", "broken_actors", "--app-dir", str(tmp_path)), 2)

    assert message.startswith("beehive: error: cannot import 'broken_actors': ")
    assert cause in message
    assert message.endswith(f"({tmp_path / 'broken_actors.py'}, line {line})\n")


@pytest.mark.parametrize(
    "connection",
    [
        "garbage",
        "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=not base64!;"
        "TableEndpoint=http://127.0.0.1:9/a;",
    ],
)
def test_a_malformed_storage_connection_string_is_one_line_without_its_key(
    connection: str,
) -> None:
    result = beehive("trace", "o-1", env={"BEEHIVE_STORAGE_CONNECTION_STRING": connection})

    line = one_line(result, 2)
    assert "BEEHIVE_STORAGE_CONNECTION_STRING: malformed Table storage connection string" in line
    assert "base64!" not in line


def test_a_closed_output_is_one_line_and_exit_code_141() -> None:
    command = subprocess.Popen(
        [sys.executable, "-m", "beehive", "topology", APP],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert command.stdout is not None
    command.stdout.close()  # the reader is gone before the command writes a byte
    _, stderr = command.communicate(timeout=TIMEOUT)

    assert command.returncode == 141
    assert stderr == "beehive: error: the output was closed before the end (broken pipe)\n"


def prismo(*argv: str, **options: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "samples.prismo", *argv],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        **options,  # type: ignore[call-overload]
    )


def test_prismo_interrupted_is_one_line_and_exit_code_130() -> None:
    run = prismo("--orders", "2000", "--trace", stdout=subprocess.DEVNULL)
    assert run.stderr is not None
    run.stderr.readline()  # it is processing orders: the first trace line is out
    run.send_signal(signal.SIGINT)
    _, rest = run.communicate(timeout=TIMEOUT)

    assert run.returncode == 130
    assert "Traceback" not in rest
    assert rest.splitlines()[-1] == "prismo: error: interrupted"


def test_prismo_with_its_output_closed_is_one_line_and_exit_code_141() -> None:
    run = prismo("--orders", "5", stdout=subprocess.PIPE)
    assert run.stdout is not None
    run.stdout.close()
    _, stderr = run.communicate(timeout=TIMEOUT)

    assert run.returncode == 141
    assert stderr == "prismo: error: the output was closed before the end (broken pipe)\n"


def test_an_unexpected_error_is_one_line_and_exit_code_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("the disk is on fire\nand so is the second line")

    code = execute(argparse.Namespace(handler=broken))

    assert code == 1
    assert capsys.readouterr().err == (
        "beehive: error: unexpected RuntimeError: the disk is on fire and so is the second line\n"
    )


def test_a_usage_mistake_is_one_line() -> None:
    line = one_line(beehive("run", APP, "--no-such-option"), 2)

    assert line == (
        "beehive: error: unrecognized arguments: --no-such-option (see beehive --help)\n"
    )
