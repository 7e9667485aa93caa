"""Audit: one log line per order event; it reads every topic, so it scales apart."""

from __future__ import annotations

import logging

from beehive import Event, actor

logger = logging.getLogger("shop.audit")


@actor("OrderPlaced-Audit")
@actor("OrderConfirmed-Audit")
class AuditActor:
    async def process(self, event: Event) -> list[Event]:
        logger.info("%s %s", event.event_type, event.id)
        return []
