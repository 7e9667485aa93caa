"""The outside world, simulated: payment gateway, fraud checker, supplier, emailer.

Each decides from ``(seed, order or request id)``, so a run is reproducible whatever the
interleaving, and records what it was asked to do, so tests and invariants can check that
actors did each thing once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from samples.prismo.chance import rng_for


@dataclass(frozen=True, slots=True)
class Authorisation:
    approved: bool
    reference: str
    reason: str | None = None


class PaymentGateway:
    """Authorises and refunds card payments; declines ``failure_rate`` of orders.

    Like real gateways it takes an idempotency key, so a retried call returns the first
    answer instead of charging twice.
    """

    def __init__(self, *, seed: int, failure_rate: float, latency: float = 0.0) -> None:
        self.seed = seed
        self.failure_rate = failure_rate
        self.latency = latency
        self.calls: Counter[str] = Counter()
        """Calls per idempotency key (``authorise:<order>``, ``refund:<order>``)."""
        self.authorisations: dict[str, Authorisation] = {}
        self.refunds: dict[str, str] = {}
        """Refunded payment references by idempotency key."""

    async def authorise(
        self, order_id: str, amount_cents: int, *, idempotency_key: str
    ) -> Authorisation:
        self.calls[idempotency_key] += 1
        await _pause(self.latency)
        known = self.authorisations.get(idempotency_key)
        if known is not None:
            return known
        declined = rng_for(self.seed, "payment", order_id).random() < self.failure_rate
        answer = Authorisation(
            approved=not declined,
            reference=f"pay-{order_id}",
            reason="card declined by the issuer" if declined else None,
        )
        self.authorisations[idempotency_key] = answer
        return answer

    async def refund(self, reference: str, *, idempotency_key: str) -> None:
        self.calls[idempotency_key] += 1
        await _pause(self.latency)
        self.refunds.setdefault(idempotency_key, reference)


class FraudChecker:
    """Scores orders; flags ``fraud_rate`` of them as fraudulent."""

    def __init__(self, *, seed: int, fraud_rate: float) -> None:
        self.seed = seed
        self.fraud_rate = fraud_rate
        self.assessed: Counter[str] = Counter()

    async def is_suspicious(self, order_id: str) -> bool:
        self.assessed[order_id] += 1
        return rng_for(self.seed, "fraud", order_id).random() < self.fraud_rate


@dataclass(frozen=True, slots=True)
class Delivery:
    request_id: str
    product_id: str
    quantity: int


class Supplier:
    """Delivers stock after ``delay`` seconds: what was asked for plus a small margin.

    A request id is a purchase-order number: asking again for the same one gets the same
    delivery, not a second one.
    """

    def __init__(self, *, delay: float, margin: int = 2) -> None:
        self.delay = delay
        self.margin = margin
        self.calls: Counter[str] = Counter()
        self.deliveries: dict[str, Delivery] = {}
        """What was delivered, by request id (a purchase order is delivered once)."""

    async def deliver(self, product_id: str, quantity: int, *, request_id: str) -> Delivery:
        self.calls[request_id] += 1
        await _pause(self.delay)
        return self.deliveries.setdefault(
            request_id, Delivery(request_id, product_id, quantity + self.margin)
        )


@dataclass(frozen=True, slots=True)
class Email:
    to: str
    subject: str
    order_id: str


@dataclass
class Emailer:
    """Sends emails (into ``sent``); no idempotency key here, just like SMTP."""

    latency: float = 0.0
    sent: list[Email] = field(default_factory=list)

    async def send(self, to: str, subject: str, *, order_id: str) -> None:
        await _pause(self.latency)
        self.sent.append(Email(to, subject, order_id))


async def _pause(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)
