"""Telling when a run is over, on a broker that cannot say it is idle.

The in-memory broker knows when nothing is ready, scheduled or in flight. A real one does not:
RabbitMQ counts only the messages ready for delivery (one a consumer has prefetched, or one
waiting in a delay queue for its retry, is not counted), and Service Bus counts only through
its management API. So a run is judged over when three things hold at once:

1. the business is done, as the stores show it: every order is shipped and emailed, or
   cancelled, refunded and restocked (:func:`unsettled`); the run knows every order must end
   one of these two ways;
2. the host is quiet: nothing in flight, and nothing received for a quiet period longer than
   any retry's backoff, since a retried message waits out of sight;
3. no message is ready in any of the actors' queues, where the broker can count them.

The host's counters are read first (they cost nothing); the broker and the stores only once
the host has been quiet for the whole period.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from beehive import ActorHost, Backoff
from samples.prismo.stores import Stores

QUIET = 0.3
"""Seconds without a delivery before the broker and stores are asked (when nothing retried)."""
POLL = 0.05


async def unsettled(stores: Stores) -> set[str]:
    """The orders whose story the stores do not show finished, with every compensation."""
    shipped = {shipment.id async for shipment in stores.shipments.list()}
    emailed = {email.id async for email in stores.emails.list()}
    paid = {p.id async for p in stores.payments.list() if p.status == "authorised"}
    restocked = {ledger.id async for ledger in stores.stock_ledgers.list() if ledger.cancelled}
    pending = set()
    async for order in stores.orders.list():
        if order.cancelled:
            done = order.id not in paid and order.id in restocked
        else:
            done = order.id in shipped and order.id in emailed
        if not done:
            pending.add(order.id)
    return pending


def longest_retry_delay(backoff: Backoff) -> float:
    """The longest a retried message can stay out of sight before it is delivered again."""
    return backoff.maximum * (1 + backoff.jitter)


async def wait_until_over(
    host: ActorHost,
    *,
    settled: Callable[[], Awaitable[bool]],
    ready: Callable[[Sequence[str]], Awaitable[int | None]],
    backoff: Backoff,
    timeout: float | None,
    quiet: float = QUIET,
) -> None:
    """Return once the business is done, the host quiet and the queues empty (see above).

    Raises ``TimeoutError`` after ``timeout`` seconds (None: wait for ever).
    """
    loop = asyncio.get_running_loop()
    queues = sorted({descriptor.source for descriptor in host.descriptors})

    def deliveries() -> tuple[int, bool, bool]:
        stats = host.stats().values()
        received = sum(s.received for s in stats)
        return received, any(s.in_flight for s in stats), any(s.retried for s in stats)

    async with asyncio.timeout(timeout):
        seen = deliveries()[0]
        quiet_since = loop.time()
        while True:
            await asyncio.sleep(POLL)
            received, busy, retried = deliveries()
            if received != seen or busy:
                seen, quiet_since = received, loop.time()
                continue
            needed = quiet + (longest_retry_delay(backoff) if retried else 0.0)
            if loop.time() - quiet_since < needed:
                continue
            if await ready(queues) in (0, None) and await settled() and deliveries()[0] == seen:
                return
            quiet_since = loop.time()  # not over: ask the broker and stores again a period on
