"""The stores Prismo's actors work on, as one value a backend builds."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

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
    def in_memory(cls) -> Stores:
        return cls(
            customers=InMemoryCollectionStore(Customer),
            products=InMemoryCollectionStore(Product),
            orders=InMemoryCollectionStore(Order),
            payments=InMemoryCollectionStore(Payment),
            fraud_assessments=InMemoryCollectionStore(FraudAssessment),
            stock_ledgers=InMemoryCollectionStore(OrderStock),
            queued_orders=InMemoryKeyedListStore(OrderWaitingForProduct),
            counters=InMemoryCounterStore(),
            replenishments=InMemoryCollectionStore(Replenishment),
            gates=InMemoryCollectionStore(FulfilmentGate),
            shipments=InMemoryCollectionStore(Shipment),
            emails=InMemoryCollectionStore(EmailSent),
        )

    def by_name(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}

    async def close(self) -> None:
        """Close the stores that hold connections (the in-memory ones hold none)."""
        for store in self.by_name().values():
            close = getattr(store, "close", None)
            if close is not None:
                await close()
