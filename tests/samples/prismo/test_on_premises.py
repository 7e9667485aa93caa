"""Prismo deployed on premises: two worker processes on RabbitMQ and PostgreSQL, one of them
SIGKILLed twice mid-run, and still every order settled, with one payment, one shipment and one
email recorded for each, and the outside world asked again only for what a killed worker held.

``beehive run --processes 2`` hosts the actors with the deployed container (stores, inbox and
claims in PostgreSQL); the payment and email actors are made idempotent and exclusive by the
per-actor settings, as an operator would. ``--publish-only``'s code seeds the shop, publishes
the orders and watches the stores; meanwhile a worker is killed without warning, twice, and the
supervisor restarts it. The simulated outside world counts its calls in the shared counters
(:mod:`samples.prismo.world`), so a second authorisation or email from any process shows.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psycopg
import pytest

from beehive import discover
from samples.prismo.postgres_storage import PostgresDatabase
from samples.prismo.publish import publish_only
from samples.prismo.run import ACTORS
from samples.prismo.scenario import Scenario
from samples.prismo.stores import Stores
from samples.prismo.world import AUTHORISE, EMAIL
from tests.cli.http import get
from tests.samples.prismo.test_backends import ROOT, Host, _host_environment, rabbitmq_url

__all__ = ["rabbitmq_url"]  # the fixture, for this module's test

ORDERS = 60
PAYMENT_PARALLELISM = next(
    d.parallelism for d in discover(ACTORS) if d.actor_type.__name__ == "PaymentActor"
)
EMAIL_PARALLELISM = next(
    d.parallelism for d in discover(ACTORS) if d.actor_type.__name__ == "EmailActor"
)
DEADLINE = 180.0
SCENARIO = Scenario(orders=ORDERS, seed=23, payment_failure_rate=0.1, supplier_delay=0.0)
EXCLUSIVE = {
    f"BEEHIVE_ACTOR__{actor}__{setting}": "true"
    for actor in ("PaymentActor", "EmailActor")
    for setting in ("IDEMPOTENT", "EXCLUSIVE")
}


def workers_of(pid: int) -> set[int]:
    try:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return set()
    return {int(child) for child in listed.split()}


async def paid(stores: Stores) -> int:
    return len([payment async for payment in stores.payments.list()])


@pytest.mark.slow
async def test_a_worker_killed_twice_mid_run_leaves_every_side_effect_once(
    rabbitmq_url: str,
    postgres: str,
) -> None:
    schema = f"onprem_{os.urandom(5).hex()}"
    environ = {
        "BEEHIVE_RABBITMQ_URL": rabbitmq_url,
        "BEEHIVE_POSTGRES_DSN": postgres,
        "BEEHIVE_POSTGRES_SCHEMA": schema,
    }
    database = PostgresDatabase(postgres, schema)
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "beehive", "run", ACTORS, "--backend", "rabbitmq"),
        *("--container", "samples.prismo.container:deployed", "--processes", "2"),
        *("--poll-wait", "0.5", "--grace", "5"),
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
        env=_host_environment(
            **environ,
            **EXCLUSIVE,
            BEEHIVE_HOST="127.0.0.1",
            BEEHIVE_PORT="0",
            BEEHIVE_LOG_FORMAT="json",
        ),
    )
    host = Host(process)
    killed: list[int] = []
    opened = database.stores()
    stores = opened.stores
    try:
        async with asyncio.timeout(DEADLINE):
            port = await host.port
            while (await get(port, "/readyz"))[0] != 200:  # noqa: ASYNC110 - only the endpoint says
                await asyncio.sleep(0.05)
            watching = asyncio.create_task(
                publish_only(
                    SCENARIO,
                    broker="rabbitmq",
                    stores="postgres",
                    environ=environ,
                    timeout=DEADLINE,
                    poll=0.2,
                )
            )
            for share in (3, 2):  # mid-run: a third, then half, of the orders paid
                while await paid(stores) < ORDERS // share:  # noqa: ASYNC110 - the stores say
                    await asyncio.sleep(0.05)
                victim = min(workers_of(process.pid))
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
                while len(workers_of(process.pid) - set(killed)) < 2:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)  # until the supervisor restarted it
            watched = await watching
    finally:
        code = await host.stop()
        try:
            charges = {
                order.id: await stores.counters.get(AUTHORISE, order.id)
                async for order in stores.orders.list()
            }
            emails = {order: await stores.counters.get(EMAIL, order) for order in charges}
            shipped = {shipment.id async for shipment in stores.shipments.list()}
            paid_for = [payment.id async for payment in stores.payments.list()]
            emailed = [record.id async for record in stores.emails.list()]
        finally:
            await opened.discard()
            async with await psycopg.AsyncConnection.connect(postgres, autocommit=True) as db:
                await db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())

    assert watched.ok, watched.render()
    assert watched.shipped + sum(watched.cancelled.values()) == ORDERS
    assert len(killed) == 2
    assert code == 0
    restarts = [m for m in host.messages() if "restarting it" in str(m)]
    assert len(restarts) == 2, restarts
    # Every order asked once; more only for a message a killed worker held (in flight, its
    # call made, its record not yet written): at most a worker's parallelism per kill. Copies
    # running at once in two workers, which the exclusive inbox stops, would add any number.
    assert len(charges) == ORDERS
    # One payment recorded per order, one shipment and one email record per shipped order.
    assert sorted(paid_for) == sorted(charges)
    assert sorted(emailed) == sorted(shipped)
    assert min(charges.values()) == 1
    assert sum(charges.values()) - ORDERS <= len(killed) * PAYMENT_PARALLELISM, charges
    assert all(emails[order] >= 1 for order in shipped)
    assert not any(emails[order] for order in emails if order not in shipped)
    assert sum(emails.values()) - len(shipped) <= len(killed) * EMAIL_PARALLELISM, emails
