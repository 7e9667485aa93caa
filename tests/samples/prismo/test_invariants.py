"""The invariants catch what they are meant to catch."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from samples.prismo.invariants import violations
from samples.prismo.outcome import Outcome
from samples.prismo.run import run
from samples.prismo.scenario import Scenario


@pytest.fixture(scope="module")
def outcome() -> Outcome:
    import asyncio

    scenario = Scenario(orders=40, seed=3, payment_failure_rate=0.3, supplier_delay=0.0)
    return asyncio.run(run(scenario)).outcome


def test_a_clean_run_breaks_none(outcome: Outcome) -> None:
    assert violations(outcome) == []


def test_a_pending_order_is_reported(outcome: Outcome) -> None:
    shipped = dict(outcome.shipments)
    order_id, _ = shipped.popitem()
    broken = dataclasses.replace(outcome, shipments=shipped)
    problems = violations(broken)
    assert any(f"1 orders neither shipped nor cancelled: {order_id}" in p for p in problems)
    assert any("stock of" in p for p in problems)  # its items are no longer accounted for


def test_a_second_email_is_reported(outcome: Outcome) -> None:
    order_id = next(iter(outcome.shipped))
    broken = dataclasses.replace(outcome, emails=outcome.emails + Counter([order_id]))
    assert violations(broken) == [f"1 shipped orders without exactly one email: {order_id}"]


def test_negative_stock_and_leftover_waits_and_dead_letters_are_reported(
    outcome: Outcome,
) -> None:
    product = next(iter(outcome.final_stock))
    broken = dataclasses.replace(
        outcome,
        final_stock={**outcome.final_stock, product: -1},
        queued={product: ["order-00001"]},
        dead_letters=2,
    )
    problems = violations(broken)
    assert f"stock of {product} is -1, below zero" in problems
    assert f"1 orders still queued for {product}: order-00001" in problems
    assert "2 messages were dead-lettered" in problems
