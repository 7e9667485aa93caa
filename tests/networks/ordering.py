"""Sessions that disagree where it breaks ordering: the ledger reads each account's events in
order, but they come through a projector that reads the account's topic without sessions, so
the order is lost on the way. The audit reads without sessions too, and emits nothing: only
its own order is lost (a warning)."""

from __future__ import annotations

from beehive import Event, ExternalEvents, actor

external = ExternalEvents(inputs=["AccountChanged"], outputs=["Audited"])


@actor("AccountChanged-Statement", sessions=True)
class StatementActor:
    async def process(self, event: Event) -> list[Event]:
        return []


@actor("AccountChanged-Projector", parallelism=4, emits=["BalanceMoved"])
class ProjectorActor:
    async def process(self, event: Event) -> list[Event]:
        return []


@actor("BalanceMoved-Ledger", sessions=True)
class LedgerActor:
    async def process(self, event: Event) -> list[Event]:
        return []


@actor("AccountChanged-Audit", emits=["Audited"])
class AuditActor:
    async def process(self, event: Event) -> list[Event]:
        return []
