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
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_open
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_open
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from beehive._supervisor import RESTARTS, WorkerMetrics, _get
from beehive.metrics import Snapshot, registry
from beehive.queues.base import QueueDepth
from beehive.stats import Counters
from beehive.web import Server

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


def get(port: int, path: str, accept: str = "*/*") -> tuple[int, str]:
    asking = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(asking, timeout=5) as answer:
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


Found = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str, *, openmetrics: bool = False) -> Found:
    """(sample name, labels) -> value, read by prometheus_client's own parser."""
    parse = parse_open if openmetrics else text_string_to_metric_families
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in parse(text)
        for s in family.samples
    }


def sample(metrics: str, name: str, **labels: str) -> float:
    return samples(metrics)[(name, frozenset(labels.items()))]


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
    payment = {"actor": "PaymentActor@OrderAccepted-Payment", "queue": "OrderAccepted-Payment"}
    assert sample(metrics, "beehive_messages_received_total", **payment) == 0  # one, added up
    assert sample(metrics, "beehive_worker_restarts_total") == 0
    assert ("process_cpu_seconds_total", frozenset()) in samples(metrics)
    status, metrics = get(port, "/metrics", accept="application/openmetrics-text; version=1.0.0")
    assert status == 200
    assert metrics.endswith("# EOF\n")
    assert ("beehive_worker_restarts_total", frozenset()) in samples(metrics, openmetrics=True)

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


def exposition(received: int, depth: int) -> str:
    """What one worker's /metrics says: its host's families and the process's, as served."""
    counters = Counters()
    for _ in range(received):
        counters.received += 1
        counters.observe(0.05)
    snapshot = Snapshot(
        {"A@X-Y": counters.snapshot()}, {"A@X-Y": "X-Y"}, {"X-Y": QueueDepth(active=depth)}
    )
    return generate_latest(registry(snapshot)).decode()


def test_metrics_add_up_across_workers_but_queue_depths_count_once() -> None:
    merged = WorkerMetrics([exposition(3, depth=7), exposition(4, depth=9)], restarts=2)

    found = samples(generate_latest(merged).decode())

    labels = {"actor": "A@X-Y", "queue": "X-Y"}
    assert found[("beehive_messages_received_total", frozenset(labels.items()))] == 7
    bucket = frozenset({**labels, "le": "0.1"}.items())
    assert found[("beehive_processing_seconds_bucket", bucket)] == 7
    assert found[("beehive_processing_seconds_count", frozenset(labels.items()))] == 7
    assert found[("beehive_processing_seconds_sum", frozenset(labels.items()))] == pytest.approx(
        0.35
    )
    depth = frozenset({"queue": "X-Y", "state": "active"}.items())
    assert found[("beehive_queue_messages", depth)] == 9, "the largest, not the sum"
    assert found[(RESTARTS, frozenset())] == 2
    assert ("process_cpu_seconds_total", frozenset()) in found


def test_merged_metrics_are_valid_openmetrics_with_their_types() -> None:
    merged = WorkerMetrics([exposition(1, depth=0), exposition(2, depth=0)], restarts=0)

    families = {f.name: f for f in parse_open(generate_open(merged).decode())}

    assert families["beehive_messages_received"].type == "counter"
    assert families["beehive_processing_seconds"].type == "histogram"
    assert families["beehive_queue_messages"].type == "gauge"
    assert families["beehive_worker_restarts"].type == "counter"


def test_a_worker_whose_metrics_do_not_parse_is_left_out() -> None:
    merged = WorkerMetrics([exposition(3, depth=1), "not { metrics"], restarts=0)

    found = samples(generate_latest(merged).decode())

    labels = frozenset({"actor": "A@X-Y", "queue": "X-Y"}.items())
    assert found[("beehive_messages_received_total", labels)] == 3


async def test_workers_are_asked_straight_whatever_the_proxy_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:1")  # a proxy nobody listens on
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    app = Starlette(routes=[Route("/readyz", lambda request: PlainTextResponse("not yet", 503))])
    async with Server(app, "127.0.0.1", 0) as worker:
        assert await _get(worker.port, "/readyz") == (503, "not yet")
