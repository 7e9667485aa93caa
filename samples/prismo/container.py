"""The dependency-injection container: what actors receive, by constructor parameter name."""

from __future__ import annotations

from dataclasses import asdict

from dependency_injector import containers, providers

from beehive.stores import CollectionStore, CounterStore, KeyedListStore
from samples.prismo.inventory import Inventory
from samples.prismo.scenario import Scenario
from samples.prismo.services import Emailer, FraudChecker, PaymentGateway, Supplier
from samples.prismo.stores import Stores


class PrismoContainer(containers.DeclarativeContainer):
    """Stores (provided by the backend), the simulated outside world, and the inventory."""

    config = providers.Configuration(strict=True)

    customers = providers.Dependency(instance_of=CollectionStore)
    products = providers.Dependency(instance_of=CollectionStore)
    orders = providers.Dependency(instance_of=CollectionStore)
    payments = providers.Dependency(instance_of=CollectionStore)
    fraud_assessments = providers.Dependency(instance_of=CollectionStore)
    stock_ledgers = providers.Dependency(instance_of=CollectionStore)
    queued_orders = providers.Dependency(instance_of=KeyedListStore)
    counters = providers.Dependency(instance_of=CounterStore)
    replenishments = providers.Dependency(instance_of=CollectionStore)
    gates = providers.Dependency(instance_of=CollectionStore)
    shipments = providers.Dependency(instance_of=CollectionStore)
    emails = providers.Dependency(instance_of=CollectionStore)

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
