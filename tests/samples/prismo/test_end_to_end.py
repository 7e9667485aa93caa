"""The whole shop, end to end: a few hundred orders per run, invariants checked after each.

"harsh" runs decline and flag many orders and keep stock scarce, so every branch runs: payment
and fraud cancellations, items waiting for the supplier, refunds, stock given back. Runs on
"yielding" stores let actors interleave between every read and write, as with a networked
store, and must reach the same business outcome as runs that do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from samples.prismo.azure_storage import OpenStores
from samples.prismo.backends import STORES
from samples.prismo.run import run
from samples.prismo.scenario import Scenario
from samples.prismo.summary import Summary
from tests.samples.prismo.flaky import yielding_stores

ORDERS = 300
REGIMES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "harsh": {"payment_failure_rate": 0.3, "fraud_rate": 0.3, "initial_stock": 5},
}


def yielding(environ: Mapping[str, str]) -> OpenStores:
    return OpenStores(yielding_stores())


@pytest.fixture(autouse=True)
def yielding_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(STORES, "yielding", yielding)


async def run_shop(regime: str, seed: int, stores: str = "memory") -> Summary:
    scenario = Scenario(orders=ORDERS, seed=seed, supplier_delay=0.0, **REGIMES[regime])
    return await run(scenario, stores=stores, timeout=30)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("regime", REGIMES)
async def test_every_order_settles_and_every_invariant_holds(regime: str, seed: int) -> None:
    summary = await run_shop(regime, seed)

    assert summary.invariant_violations == []
    assert summary.shipped + sum(summary.cancelled.values()) == ORDERS
    assert (summary.pending, summary.dead_letters, summary.retries) == (0, 0, 0)


@pytest.mark.parametrize("seed", [4, 5])
async def test_harsh_runs_take_every_branch_and_every_compensation(seed: int) -> None:
    outcome = (await run_shop("harsh", seed, stores="yielding")).outcome

    assert outcome.cancelled("payment")
    assert outcome.cancelled("fraud")
    assert outcome.shipped
    assert outcome.waited  # items waited for the supplier
    assert outcome.replenishments
    assert outcome.refunds  # payments of fraudulent orders were refunded
    statuses = {
        line.status for ledger in outcome.ledgers.values() for line in ledger.lines.values()
    }
    assert {"taken", "returned", "dropped"} <= statuses  # stock given back, waits dropped


@pytest.mark.parametrize("regime", REGIMES)
async def test_the_seed_decides_the_outcome_whatever_the_interleaving(regime: str) -> None:
    plain = (await run_shop(regime, seed=6)).outcome
    interleaved = (await run_shop(regime, seed=6, stores="yielding")).outcome

    assert interleaved.shipped == plain.shipped
    for reason in ("payment", "fraud"):
        assert interleaved.cancelled(reason) == plain.cancelled(reason)
    assert interleaved.orders.keys() == plain.orders.keys()


async def test_different_seeds_give_different_outcomes() -> None:
    first = (await run_shop("harsh", seed=7)).outcome
    second = (await run_shop("harsh", seed=8)).outcome

    assert first.cancelled() != second.cancelled()
