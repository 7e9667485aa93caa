"""``python -m samples.prismo``: run the shop and print what happened.

Exits 0 when every invariant holds, 1 when one does not, 2 when the run cannot start (a
missing setting, a broker or stores that are not there: one line on stderr says which), 130
when interrupted (Ctrl-C), 141 when its output is closed early (a broken pipe).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

from beehive.cli._common import ends_cleanly
from samples.prismo.backends import BROKERS, PRESETS, STORES, BackendUnavailable
from samples.prismo.publish import Watched, publish_only
from samples.prismo.run import run
from samples.prismo.scenario import Scenario
from samples.prismo.summary import Summary

T = TypeVar("T")

DEFAULTS = Scenario()


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m samples.prismo",
        description="Prismo, an e-commerce order process as reactive actors: "
        "places orders, runs the actors until idle, prints a summary, checks invariants.",
    )
    cli.add_argument("--orders", type=int, default=DEFAULTS.orders, help="orders to place")
    cli.add_argument("--seed", type=int, default=DEFAULTS.seed, help="makes the run reproducible")
    cli.add_argument(
        "--backend",
        choices=list(PRESETS),
        default="memory",
        help="a broker and stores together: memory (both in memory), rabbitmq (RabbitMQ, "
        "stores in memory), onprem (RabbitMQ, PostgreSQL), azure (Service Bus, Azure Table "
        "storage); default %(default)s",
    )
    cli.add_argument("--broker", choices=list(BROKERS), help="the broker, whatever --backend says")
    cli.add_argument("--stores", choices=list(STORES), help="the stores, whatever --backend says")
    cli.add_argument(
        "--publish-only",
        action="store_true",
        help="seed the shared azure stores and publish the orders to a host running "
        "elsewhere (beehive run ... --container samples.prismo.container:deployed), "
        "then watch the stores until every order is settled",
    )
    cli.add_argument(
        "--payment-failure-rate",
        type=float,
        default=DEFAULTS.payment_failure_rate,
        help="share of payments the gateway declines (default %(default)s)",
    )
    cli.add_argument(
        "--fraud-rate",
        type=float,
        default=DEFAULTS.fraud_rate,
        help="share of paid orders found fraudulent (default %(default)s)",
    )
    cli.add_argument(
        "--supplier-delay",
        type=float,
        default=DEFAULTS.supplier_delay,
        help="seconds a replenishment takes to arrive (default %(default)s)",
    )
    cli.add_argument(
        "--initial-stock",
        type=int,
        default=None,
        help="units of each product in stock at the start "
        "(default: about 80%% of what the orders will ask for)",
    )
    cli.add_argument(
        "--timeout", type=float, default=600.0, help="give up waiting for idle after this"
    )
    cli.add_argument("--json", action="store_true", help="print only one JSON object")
    cli.add_argument("--trace", action="store_true", help="log every event on stderr")
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        scenario = Scenario(
            orders=args.orders,
            seed=args.seed,
            payment_failure_rate=args.payment_failure_rate,
            fraud_rate=args.fraud_rate,
            supplier_delay=args.supplier_delay,
            initial_stock=args.initial_stock,
        )
    except ValueError as error:
        print(f"prismo: {error}", file=sys.stderr)
        return 2
    if args.trace:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
        logging.getLogger("samples.prismo.trace").setLevel(logging.INFO)
    broker, stores = PRESETS[args.backend]
    broker, stores = args.broker or broker, args.stores or stores
    progress = sys.stderr if sys.stderr.isatty() and not args.trace else None
    try:
        if args.publish_only:
            if stores not in ("azure", "postgres"):
                raise BackendUnavailable(
                    "--publish-only needs the stores the deployed host uses: --stores azure "
                    "or --stores postgres"
                )
            report: Watched | Summary = _run_holding(
                publish_only(
                    scenario,
                    broker=broker,
                    environ=os.environ,
                    timeout=args.timeout,
                    stores=stores,
                )
            )
        else:
            report = _run_holding(
                run(
                    scenario,
                    broker=broker,
                    stores=stores,
                    timeout=args.timeout,
                    progress=progress,
                )
            )
    except (BackendUnavailable, ConnectionError) as error:
        # ConnectionError: a broker that does not answer (its message hides any password).
        print(f"prismo: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report.as_json()) if args.json else report.render())
    return 0 if report.ok else 1


def _run_holding(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, without returning a large result from the main task: on Python
    3.11, ``asyncio.run`` formats the task, result included, into a repr when it restores the
    SIGINT handler (about 0.75 s for a 3,000-order summary, more for larger runs)."""
    held: list[T] = []

    async def holding() -> None:
        held.append(await main)

    asyncio.run(holding())
    return held[0]


if __name__ == "__main__":
    sys.exit(ends_cleanly("prismo", main))
