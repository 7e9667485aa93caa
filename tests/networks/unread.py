"""An event nobody reads: a warning, not an error."""

from __future__ import annotations

from beehive import Event, ExternalEvents, actor

external = ExternalEvents(inputs=["Paid"])


@actor("Paid-Ledger", emits=["Audited"])
class LedgerActor:
    async def process(self, event: Event) -> list[Event]:
        return []
