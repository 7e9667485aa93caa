"""``beehive run --processes N``: N worker processes under one supervisor, as a user runs it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from beehive._supervisor import merge_metrics

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.example_app.actors"
CONTAINER = "tests.example_app.services:Container"
DEADLINE = 60.0  # seconds a condition may take to hold before the test fails


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE:g}s: {what}")
        time.sleep(0.05)


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def children(pid: int) -> set[int]:
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return set()
    return {int(child) for child in listed.split()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def sample(metrics: str, name: str) -> float:
    (line,) = [line for line in metrics.splitlines() if line.startswith(name)]
    return float(line.rsplit(" ", 1)[1])


@pytest.fixture
def supervisor() -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    command = [sys.executable, "-m", "beehive", "run", APP, "--container", CONTAINER]
    process = subprocess.Popen(
        [*command, "--processes", "2", "--port", str(port), "--grace", "5"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            for child in children(process.pid):
                os.kill(child, signal.SIGKILL)
            process.kill()
        process.communicate()


def test_workers_are_supervised_restarted_and_stopped_together(
    supervisor: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = supervisor
    until(lambda: get(port, "/readyz")[0] == 200, "the supervisor is ready")
    workers = children(process.pid)
    assert len(workers) == 2

    status, metrics = get(port, "/metrics")
    assert status == 200
    received = 'beehive_messages_received_total{actor="PaymentActor@OrderAccepted-Payment"'
    assert sum(line.startswith(received) for line in metrics.splitlines()) == 1  # added up
    assert sample(metrics, "beehive_worker_restarts_total") == 0

    killed = min(workers)
    os.kill(killed, signal.SIGKILL)
    until(lambda: get(port, "/readyz")[0] == 503, "not ready while a worker is down")
    until(lambda: get(port, "/readyz")[0] == 200, "ready again once it is restarted")
    replaced = children(process.pid)
    assert len(replaced) == 2
    assert killed not in replaced
    assert sample(get(port, "/metrics")[1], "beehive_worker_restarts_total") == 1

    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert not any(alive(worker) for worker in replaced)
    assert f"pid {killed}) exited with code -9; restarting it" in output
    assert "stopping 2 workers" in output


def test_a_worker_s_configuration_error_stops_the_supervisor_with_exit_code_2() -> None:
    done = subprocess.run(  # no container: the actors' dependencies cannot be built
        [sys.executable, "-m", "beehive", "run", APP, "--processes", "2", "--port", "0"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 2
    assert "payment_gateway" in done.stderr
    assert "configuration error: stopping" in done.stderr


def test_the_dashboard_needs_one_process(capsys: pytest.CaptureFixture[str]) -> None:
    from beehive.cli import main

    assert main(["run", APP, "--processes", "2", "--dashboard"]) == 2
    assert "--processes 1" in capsys.readouterr().err


def test_metrics_add_up_across_workers_but_queue_depths_count_once() -> None:
    worker = """# HELP beehive_messages_received_total Messages leased.
# TYPE beehive_messages_received_total counter
beehive_messages_received_total{actor="A@X-Y",queue="X-Y"} {n}.0
# HELP beehive_processing_seconds Time spent.
# TYPE beehive_processing_seconds histogram
beehive_processing_seconds_bucket{actor="A@X-Y",queue="X-Y",le="0.1"} {n}.0
beehive_processing_seconds_bucket{actor="A@X-Y",queue="X-Y",le="+Inf"} {n}.0
beehive_processing_seconds_sum{actor="A@X-Y",queue="X-Y"} 0.5
beehive_processing_seconds_count{actor="A@X-Y",queue="X-Y"} {n}.0
# HELP beehive_queue_messages Messages in the queue.
# TYPE beehive_queue_messages gauge
beehive_queue_messages{queue="X-Y",state="active"} {depth}.0
"""
    merged = merge_metrics(
        [
            worker.replace("{n}", "3").replace("{depth}", "7"),
            worker.replace("{n}", "4").replace("{depth}", "9"),
        ]
    )

    assert 'beehive_messages_received_total{actor="A@X-Y",queue="X-Y"} 7.0' in merged
    assert 'beehive_processing_seconds_bucket{actor="A@X-Y",le="+Inf",queue="X-Y"} 7.0' in merged
    assert 'beehive_processing_seconds_sum{actor="A@X-Y",queue="X-Y"} 1.0' in merged
    assert 'beehive_queue_messages{queue="X-Y",state="active"} 9.0' in merged
    assert merged.count("# TYPE beehive_processing_seconds histogram") == 1
