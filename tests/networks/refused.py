"""Names and settings Service Bus refuses (RabbitMQ takes them all)."""

from __future__ import annotations

from beehive import Event, ExternalEvents, actor

external = ExternalEvents(inputs=["Paid", "paid"])


@actor("Paid-ASubscriptionNameMuchLongerThanFiftyCharactersIsRefused", emits=["Done_"])
class LongNameActor:
    async def process(self, event: Event) -> list[Event]:
        return []


@actor("paid-Slow", max_deliveries=5000, lease_seconds=600, max_lease_seconds=3600)
class SlowActor:
    async def process(self, event: Event) -> list[Event]:
        return []
