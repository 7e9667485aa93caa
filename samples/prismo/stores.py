"""The stores Prismo's actors work on, as one value a backend builds."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from beehive.stores import (
    CollectionStore,
    CounterStore,
    InMemoryCollectionStore,
    InMemoryCounterStore,
    InMemoryKeyedListStore,
    KeyedListStore,
)
from samples.prismo.entities import (
    Customer,
    EmailSent,
    FraudAssessment,
    FulfilmentGate,
    Order,
    OrderStock,
    OrderWaitingForProduct,
    Payment,
    Product,
    Replenishment,
    Shipment,
)

EntityT = TypeVar("EntityT", bound=BaseModel)


class CollectionFactory(Protocol):
    """Makes the collection store of one entity type."""

    def __call__(self, entity_type: type[EntityT], /) -> CollectionStore[EntityT]: ...


@dataclass(frozen=True, slots=True)
class Stores:
    """Every store, named as the actors' constructor parameters that receive them."""

    customers: CollectionStore[Customer]
    products: CollectionStore[Product]
    orders: CollectionStore[Order]
    payments: CollectionStore[Payment]
    fraud_assessments: CollectionStore[FraudAssessment]
    stock_ledgers: CollectionStore[OrderStock]
    queued_orders: KeyedListStore[OrderWaitingForProduct]
    counters: CounterStore
    replenishments: CollectionStore[Replenishment]
    gates: CollectionStore[FulfilmentGate]
    shipments: CollectionStore[Shipment]
    emails: CollectionStore[EmailSent]

    @classmethod
    def build(
        cls,
        collection: CollectionFactory,
        queued_orders: KeyedListStore[OrderWaitingForProduct],
        counters: CounterStore,
    ) -> Stores:
        """Every store, each collection made by ``collection`` from its entity type."""
        return cls(
            customers=collection(Customer),
            products=collection(Product),
            orders=collection(Order),
            payments=collection(Payment),
            fraud_assessments=collection(FraudAssessment),
            stock_ledgers=collection(OrderStock),
            queued_orders=queued_orders,
            counters=counters,
            replenishments=collection(Replenishment),
            gates=collection(FulfilmentGate),
            shipments=collection(Shipment),
            emails=collection(EmailSent),
        )

    @classmethod
    def in_memory(cls) -> Stores:
        return cls.build(
            InMemoryCollectionStore,
            InMemoryKeyedListStore(OrderWaitingForProduct),
            InMemoryCounterStore(),
        )

    def by_name(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    async def close(self) -> None:
        """Close the stores that hold connections (the in-memory ones hold none)."""
        for store in self.by_name().values():
            close = getattr(store, "close", None)
            if close is not None:
                await close()
