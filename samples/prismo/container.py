"""The dependency-injection container: what actors receive, by constructor parameter name."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from typing import Any

from dependency_injector import containers, providers

from beehive.stores import CollectionStore, CounterStore, KeyedListStore
from samples.prismo.azure_storage import AzureAccount
from samples.prismo.inventory import Inventory
from samples.prismo.postgres_storage import POSTGRES_DSN, PostgresDatabase
from samples.prismo.scenario import Scenario
from samples.prismo.services import Emailer, FraudChecker, PaymentGateway, Supplier
from samples.prismo.stores import Stores
from samples.prismo.world import CountedEmailer, CountedPaymentGateway


def _provided(kind: type) -> providers.Dependency[Any]:
    """A store the backend provides; it must be a ``kind``."""
    return providers.Dependency(instance_of=kind)


class PrismoContainer(containers.DeclarativeContainer):
    """Stores (provided by the backend), the simulated outside world, and the inventory."""

    config = providers.Configuration(strict=True)

    customers = _provided(CollectionStore)
    products = _provided(CollectionStore)
    orders = _provided(CollectionStore)
    payments = _provided(CollectionStore)
    fraud_assessments = _provided(CollectionStore)
    stock_ledgers = _provided(CollectionStore)
    queued_orders = _provided(KeyedListStore)
    counters = _provided(CounterStore)
    replenishments = _provided(CollectionStore)
    gates = _provided(CollectionStore)
    shipments = _provided(CollectionStore)
    emails = _provided(CollectionStore)

    payment_gateway = providers.Singleton(
        PaymentGateway, seed=config.seed, failure_rate=config.payment_failure_rate
    )
    fraud_checker = providers.Singleton(
        FraudChecker, seed=config.seed, fraud_rate=config.fraud_rate
    )
    supplier = providers.Singleton(Supplier, delay=config.supplier_delay)
    emailer = providers.Singleton(Emailer)

    inventory = providers.Singleton(
        Inventory, counters=counters, ledgers=stock_ledgers, queued=queued_orders
    )


def build_container(scenario: Scenario, stores: Stores) -> PrismoContainer:
    """A container for one run: the backend's stores, services configured by the scenario."""
    container = PrismoContainer(
        **{name: providers.Object(store) for name, store in stores.by_name().items()}
    )
    container.config.from_dict(asdict(scenario))
    return container


def deployed() -> PrismoContainer:
    """The container of a deployed actor host, built from the environment alone.

    ``beehive run samples.prismo.actors --container samples.prismo.container:deployed``: the
    stores are in PostgreSQL when ``BEEHIVE_POSTGRES_DSN`` is set (on premises, see
    :mod:`samples.prismo.postgres_storage`), else in Azure Table storage (see
    :mod:`samples.prismo.azure_storage`), shared by every replica and by ``python -m
    samples.prismo --publish-only``; the simulated outside world follows the default scenario
    and counts its calls in the shared counters (:mod:`samples.prismo.world`). ``inbox`` keeps
    the records of actors marked idempotent in the same place (none of Prismo's is by default:
    each finds its own earlier work in its records; ``BEEHIVE_ACTOR__PaymentActor__IDEMPOTENT``
    and ``__EXCLUSIVE`` make one so), with claims for exclusive actors on PostgreSQL; it is only
    built if ``beehive run`` asks for it. ``connections`` is a resource whose shutdown closes
    the stores (``shutdown_resources()``).
    """
    from beehive.inbox import Inbox, InboxRecord

    if os.environ.get(POSTGRES_DSN):
        return _on_postgres(PostgresDatabase.from_environ(os.environ))
    account = AzureAccount.from_environ(os.environ)
    stores = account.stores()
    container = _counting(build_container(Scenario(), stores))
    container.inbox = providers.Singleton(
        lambda: Inbox(account.collection(InboxRecord, name="Inbox"))
    )
    container.connections = providers.Resource(_closed_at_shutdown, account.close, stores)
    return container


def _on_postgres(database: PostgresDatabase) -> PrismoContainer:
    from beehive.claims import Claims
    from beehive.inbox import Inbox, InboxRecord
    from beehive.stores.postgres import PostgresCollectionStore, PostgresLockStore

    pool = database.pool()
    opened = database.stores(pool=pool)
    locks = PostgresLockStore(pool=pool, schema=database.schema)
    inbox = Inbox(
        PostgresCollectionStore(None, InboxRecord, pool=pool, schema=database.schema),
        claims=Claims(locks),
    )
    container = _counting(build_container(Scenario(), opened.stores))
    container.inbox = providers.Object(inbox)
    container.connections = providers.Resource(
        _closed_at_shutdown, opened.discard, opened.stores, locks
    )
    return container


def _counting(container: PrismoContainer) -> PrismoContainer:
    """The container with services that count their calls in the shared counters."""
    container.payment_gateway.override(
        providers.Singleton(
            CountedPaymentGateway,
            container.counters,
            seed=container.config.seed,
            failure_rate=container.config.payment_failure_rate,
        )
    )
    container.emailer.override(providers.Singleton(CountedEmailer, container.counters))
    return container


async def _closed_at_shutdown(
    close: Callable[[], Awaitable[None]], *closables: Any
) -> AsyncIterator[None]:
    yield
    for closable in closables:
        await closable.close()
    await close()
