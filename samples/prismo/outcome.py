"""What a run left behind, read from the stores and the simulated outside world."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from beehive.queues.base import QueueOperator
from samples.prismo.container import PrismoContainer
from samples.prismo.entities import Order, OrderStock, Payment, Shipment
from samples.prismo.inventory import Inventory
from samples.prismo.stores import Stores


@dataclass(frozen=True, slots=True)
class Outcome:
    """The end state of a run, as plain values: what invariants and summaries look at."""

    orders: dict[str, Order]
    shipments: dict[str, Shipment]
    payments: dict[str, Payment]
    ledgers: dict[str, OrderStock]
    initial_stock: dict[str, int]
    final_stock: dict[str, int]
    delivered: dict[str, int]
    """Units the supplier delivered, per product."""
    replenishments: int
    recorded_replenishments: dict[str, int]
    """Units the stores recorded as received, per product."""
    emails: Counter[str]
    """Shipping emails sent, per order."""
    refunds: Counter[str]
    """Refunds the gateway made, per order."""
    queued: dict[str, list[str]]
    """Orders still queued for a product, per product (empty once idle)."""
    dead_letters: int

    @property
    def shipped(self) -> set[str]:
        return set(self.shipments)

    def cancelled(self, reason: str | None = None) -> set[str]:
        return {
            id
            for id, order in self.orders.items()
            if order.cancelled and (reason is None or order.cancellation_reason == reason)
        }

    @property
    def pending(self) -> set[str]:
        return set(self.orders) - self.shipped - self.cancelled()

    @property
    def waited(self) -> int:
        """Order lines that had to wait for a replenishment."""
        return sum(
            1 for ledger in self.ledgers.values() for line in ledger.lines.values() if line.requests
        )


async def collect(
    container: PrismoContainer,
    stores: Stores,
    operator: QueueOperator,
    sources: list[str],
    initial_stock: dict[str, int],
) -> Outcome:
    """Read everything a run changed (``sources``: the queues whose dead letters count)."""
    inventory: Inventory = container.inventory()
    products = list(initial_stock)
    delivered: Counter[str] = Counter()
    for delivery in container.supplier().deliveries.values():
        delivered[delivery.product_id] += delivery.quantity
    recorded: Counter[str] = Counter()
    async for replenishment in stores.replenishments.list():
        recorded[replenishment.product_id] += replenishment.quantity
    refunds = Counter(key.removeprefix("refund:") for key in container.payment_gateway().refunds)
    return Outcome(
        orders={order.id: order async for order in stores.orders.list()},
        shipments={shipment.id: shipment async for shipment in stores.shipments.list()},
        payments={payment.id: payment async for payment in stores.payments.list()},
        ledgers={ledger.id: ledger async for ledger in stores.stock_ledgers.list()},
        initial_stock=initial_stock,
        final_stock={product: await inventory.in_stock(product) for product in products},
        delivered=dict(delivered),
        replenishments=len(container.supplier().deliveries),
        recorded_replenishments=dict(recorded),
        emails=Counter(email.order_id for email in container.emailer().sent),
        refunds=refunds,
        queued={
            product: [waiting.id async for waiting in inventory.waiting_for(product)]
            for product in products
        },
        dead_letters=sum([len(await operator.dead_letters(source)) for source in sources]),
    )
