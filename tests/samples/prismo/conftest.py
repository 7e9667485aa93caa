"""Fixtures for Prismo's tests: a container on in-memory stores, a small shop, a harness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from beehive import discover
from beehive.testing import ActorHarness
from samples.prismo import catalogue
from samples.prismo.container import PrismoContainer, build_container
from samples.prismo.entities import Order, OrderLine
from samples.prismo.inventory import Inventory
from samples.prismo.scenario import Scenario
from samples.prismo.stores import Stores
from tests.azurite import azurite  # noqa: F401 - the session fixture, for the Azure runs

Hive = Callable[..., AbstractAsyncContextManager[ActorHarness]]


class Shop:
    """A container on fresh in-memory stores, with customers and products, and helpers."""

    def __init__(self, scenario: Scenario, stores: Stores) -> None:
        self.scenario = scenario
        self.stores = stores
        self.container: PrismoContainer = build_container(scenario, stores)

    @property
    def inventory(self) -> Inventory:
        inventory: Inventory = self.container.inventory()
        return inventory

    async def open(self, stock: int) -> None:
        for customer in catalogue.customers(self.scenario):
            await self.stores.customers.upsert(customer)
        for product in catalogue.products(self.scenario):
            await self.stores.products.upsert(product)
            await self.inventory.receive(product.id, stock)

    async def order(self, id: str, **quantities: int) -> Order:
        """Record an order of ``product_01=2`` style quantities (``_`` for ``-``)."""
        lines = tuple(
            OrderLine(product_id=name.replace("_", "-"), quantity=quantity)
            for name, quantity in quantities.items()
        )
        order = Order(
            id=id,
            customer_id="customer-001",
            lines=lines,
            total_cents=1000,
            payment_method="card",
            shipping_address="1 Rainbow Row",
        )
        return await self.stores.orders.insert(order)

    async def stock(self, product_id: str) -> int:
        return await self.inventory.in_stock(product_id)


@pytest.fixture
def scenario() -> Scenario:
    return Scenario(seed=1, payment_failure_rate=0.0, fraud_rate=0.0, supplier_delay=0.0)


@pytest.fixture
async def shop(scenario: Scenario) -> Shop:
    shop = Shop(scenario, Stores.in_memory())
    await shop.open(stock=10)
    return shop


@pytest.fixture
def hive(shop: Shop) -> Hive:
    """``async with hive(PaymentActor, ...) as h:`` runs those actors on the shop's container."""

    @asynccontextmanager
    async def running(*actors: type, **options: Any) -> AsyncIterator[ActorHarness]:
        async with ActorHarness(discover(*actors), container=shop.container, **options) as h:
            yield h

    return running


async def yield_first() -> None:
    """Let every other ready task run: how tests make store calls interleave."""
    await asyncio.sleep(0)
