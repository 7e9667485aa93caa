"""Two actors on one subscription, with different settings; and a topic whose subscriptions
disagree about sessions."""

from __future__ import annotations

from beehive import Event, ExternalEvents, actor

external = ExternalEvents(inputs=["Paid", "Shipped"])


@actor("Paid-Email")
class ReceiptActor:
    async def process(self, event: Event) -> list[Event]:
        return []


@actor("Paid-Email", max_deliveries=3)
class ThankYouActor:
    async def process(self, event: Event) -> list[Event]:
        return []


@actor("Shipped-Ledger", sessions=True)
class LedgerActor:
    async def process(self, event: Event) -> list[Event]:
        return []


@actor("Shipped-Sms")
class SmsActor:
    async def process(self, event: Event) -> list[Event]:
        return []
