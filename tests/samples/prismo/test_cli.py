"""``python -m samples.prismo``: options, output, exit codes."""

from __future__ import annotations

import json

import pytest

from samples.prismo.__main__ import main


def test_json_prints_one_object_with_the_documented_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--orders", "30", "--seed", "2", "--supplier-delay", "0", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["orders"] == 30
    assert report["shipped"] + sum(report["cancelled"].values()) + report["pending"] == 30
    assert set(report["cancelled"]) == {"payment", "fraud"}
    assert report["invariant_violations"] == []
    assert {"dead_letters", "events", "seconds"} <= set(report)


def test_the_summary_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--orders", "20", "--supplier-delay", "0", "--initial-stock", "3"]) == 0

    text = capsys.readouterr().out
    assert text.startswith("Prismo: 20 orders, seed 1, memory backend")
    for figure in ("shipped", "cancelled", "waited for stock", "replenishments", "events/s"):
        assert figure in text
    assert "PaymentActor@OrderAccepted-Payment" in text
    assert text.rstrip().endswith("All invariants hold.")


def test_a_bad_rate_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fraud-rate", "1.5"]) == 2
    assert "fraud_rate must be between 0 and 1" in capsys.readouterr().err
