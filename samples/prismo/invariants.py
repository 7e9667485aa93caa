"""What must hold once a run is idle, whatever the interleaving, seed or failure rates."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from samples.prismo.outcome import Outcome

Invariant = Callable[[Outcome], Iterable[str]]
_EXAMPLES = 5


def _listed(what: str, ids: Iterable[str]) -> Iterable[str]:
    found = sorted(ids)
    if found:
        examples = ", ".join(found[:_EXAMPLES]) + (", ..." if len(found) > _EXAMPLES else "")
        yield f"{len(found)} {what}: {examples}"


def every_order_settled(outcome: Outcome) -> Iterable[str]:
    yield from _listed("orders neither shipped nor cancelled", outcome.pending)


def shipped_once_and_emailed_once(outcome: Outcome) -> Iterable[str]:
    yield from _listed(
        "shipped orders without exactly one email",
        (id for id in outcome.shipped if outcome.emails[id] != 1),
    )
    yield from _listed("emails for orders not shipped", set(outcome.emails) - outcome.shipped)
    yield from _listed(
        "shipments not matching their order",
        (id for id, s in outcome.shipments.items() if s.lines != outcome.orders[id].lines),
    )


def cancelled_never_shipped(outcome: Outcome) -> Iterable[str]:
    yield from _listed("cancelled orders with a shipment", outcome.cancelled() & outcome.shipped)


def cancelled_orders_refunded(outcome: Outcome) -> Iterable[str]:
    authorised = {id for id, payment in outcome.payments.items() if payment.status != "declined"}
    yield from _listed(
        "cancelled paid orders not refunded exactly once",
        (id for id in outcome.cancelled() & authorised if outcome.refunds[id] != 1),
    )
    yield from _listed(
        "refunds of orders not cancelled", set(outcome.refunds) - outcome.cancelled()
    )


def no_counter_below_zero(outcome: Outcome) -> Iterable[str]:
    for product, units in sorted(outcome.final_stock.items()):
        if units < 0:
            yield f"stock of {product} is {units}, below zero"


def stock_conserved(outcome: Outcome) -> Iterable[str]:
    """Initial + delivered - shipped = final, per product: nothing lost, nothing made up."""
    shipped: dict[str, int] = {}
    for shipment in outcome.shipments.values():
        for line in shipment.lines:
            shipped[line.product_id] = shipped.get(line.product_id, 0) + line.quantity
    for product, initial in sorted(outcome.initial_stock.items()):
        delivered, out = outcome.delivered.get(product, 0), shipped.get(product, 0)
        expected = initial + delivered - out
        final = outcome.final_stock[product]
        if final != expected:
            yield (
                f"stock of {product} is {final}, but {initial} initial + {delivered} delivered "
                f"- {out} shipped = {expected}"
            )
        if outcome.recorded_replenishments.get(product, 0) != delivered:
            yield f"{product}: the supplier delivered {delivered} units, the stores recorded " + (
                f"{outcome.recorded_replenishments.get(product, 0)}"
            )


def nobody_left_waiting(outcome: Outcome) -> Iterable[str]:
    for product, orders in sorted(outcome.queued.items()):
        yield from _listed(f"orders still queued for {product}", orders)


def nothing_dead_lettered(outcome: Outcome) -> Iterable[str]:
    if outcome.dead_letters:
        yield f"{outcome.dead_letters} messages were dead-lettered"


INVARIANTS: tuple[Invariant, ...] = (
    every_order_settled,
    shipped_once_and_emailed_once,
    cancelled_never_shipped,
    cancelled_orders_refunded,
    no_counter_below_zero,
    stock_conserved,
    nobody_left_waiting,
    nothing_dead_lettered,
)


def violations(outcome: Outcome) -> list[str]:
    """Every broken invariant, one line each; empty when all hold."""
    return [problem for invariant in INVARIANTS for problem in invariant(outcome)]
