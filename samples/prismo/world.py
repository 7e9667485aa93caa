"""The outside world's own record of what a deployed Prismo asked of it, shared by every host.

In one process the simulated services count their calls in memory, and the invariants read
those counts. Deployed on several hosts or worker processes, each has services of its own, and
a killed one takes its counts with it; so the deployed container gives the actors services
that also count each call in the shared counter store (counters ``world:...``): what the world
saw across every process and crash. Two copies of one event processed at once in two processes
show up there as two calls, and so does a call cut short by a crash before its result was
recorded (no inbox can tell the world to forget a call it received).
"""

from __future__ import annotations

from typing import Any

from beehive.stores import CounterStore
from samples.prismo.services import Authorisation, Emailer, PaymentGateway

AUTHORISE = "world:authorise"
EMAIL = "world:email"


class CountedPaymentGateway(PaymentGateway):
    """A :class:`PaymentGateway` that also counts its calls in ``counters``, by order.

    Its idempotency key still makes a second call for one order return the first answer (a real
    gateway remembers keys for every caller): the count says how often it was asked.
    """

    def __init__(self, counters: CounterStore, **options: Any) -> None:
        super().__init__(**options)
        self.counters = counters

    async def authorise(
        self, order_id: str, amount_cents: int, *, idempotency_key: str
    ) -> Authorisation:
        await self.counters.increment(AUTHORISE, order_id)
        return await super().authorise(order_id, amount_cents, idempotency_key=idempotency_key)


class CountedEmailer(Emailer):
    """An :class:`Emailer` that also counts the emails it sends in ``counters``."""

    def __init__(self, counters: CounterStore) -> None:
        super().__init__()
        self.counters = counters

    async def send(self, to: str, subject: str, *, order_id: str) -> None:
        await self.counters.increment(EMAIL, order_id)
        await super().send(to, subject, order_id=order_id)
