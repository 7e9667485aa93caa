"""The benches run from a clone as the README says (tiny sizes: this checks they work, never
how fast; the figures are the benches' own business)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def bench(script: str, *arguments: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=BENCH.parent,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_host_throughput_interleaves_bare_and_beehive() -> None:
    out = bench(
        "host_throughput.py", "--events", "300", "--workers", "1", "--rounds", "3",
        "--queued", "500",
    )  # fmt: skip

    assert "beehive / bare, cost per hop: cpu median" in out
    assert "per round cpu" in out
    assert "queueing adds" in out


@pytest.mark.slow
def test_prismo_orders_compares_with_the_bare_pipeline() -> None:
    out = bench("prismo_orders.py", "--orders", "20", "40", "--rounds", "3")

    assert "/ bare hops/s" in out
    assert "cpu/order vs 20" in out


@pytest.mark.slow
def test_inbox_cost_reports_the_cost_added_per_message() -> None:
    out = bench("inbox_cost.py", "--events", "200", "--rounds", "3", "--memory-only")

    assert "in-memory inbox: +" in out


@pytest.mark.slow
def test_peers_runs_beehive_and_names_what_is_missing() -> None:
    out = bench("peers.py", "--messages", "200", "--faststream-messages", "20", "--rounds", "3")

    assert "beehive" in out
    for peer in ("dramatiq", "taskiq", "faststream"):
        assert peer in out  # measured, or skipped with the line that installs it


@pytest.mark.slow
def test_rabbitmq_throughput_interleaves_raw_aio_pika_and_beehive() -> None:
    from tests.queues.rabbitmq_support import require_broker

    require_broker()
    out = bench("rabbitmq_throughput.py", "--events", "100", "--rounds", "3", "--probes", "5")

    assert "beehive / aio-pika, cost per hop: cpu median" in out
    assert "latency of one event through both hops" in out
    for peer in ("faststream", "dramatiq", "taskiq"):
        assert peer in out  # measured, or skipped with the line that installs it
