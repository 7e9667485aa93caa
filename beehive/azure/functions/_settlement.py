"""Settling a trigger's message: by the Functions runtime, or by the function itself.

With the plain Service Bus trigger the runtime settles (``autoCompleteMessages``): it
completes the message when the function returns and abandons it when the function raises, so
Service Bus counts the delivery and dead-letters the message at the entity's
``MaxDeliveryCount``. Dead-lettering *at once*, with a reason, needs settlement by the
function: the Service Bus SDK-type binding's ``ServiceBusMessageActions``
(``azurefunctions-extensions-bindings-servicebus``), or anything with its three methods.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol


class MessageActions(Protocol):
    """Settles a trigger's message by its lock token (``ServiceBusMessageActions``' methods).

    The methods are blocking calls to the Functions host; they run in a worker thread.
    """

    def complete(self, message: Any) -> None: ...

    def abandon(self, message: Any) -> None: ...

    def deadletter(
        self,
        message: Any,
        deadletter_reason: str | None = None,
        deadletter_error_description: str | None = None,
    ) -> None: ...


class Settlement:
    """How one app's functions settle: by the runtime (``actions`` None) or by ``actions``."""

    def __init__(self, actions: MessageActions | None) -> None:
        self.actions = actions

    @property
    def manual(self) -> bool:
        return self.actions is not None

    async def complete(self, message: Any) -> None:
        if self.actions is not None:
            await asyncio.to_thread(self.actions.complete, message)

    async def abandon(self, message: Any) -> None:
        if self.actions is not None:
            await asyncio.to_thread(self.actions.abandon, message)

    async def dead_letter(self, message: Any, fields: dict[str, str | None]) -> bool:
        """Dead-letter ``message`` now; False when only the runtime settles (it cannot)."""
        if self.actions is None:
            return False
        await asyncio.to_thread(
            self.actions.deadletter,
            message,
            deadletter_reason=fields["reason"],
            deadletter_error_description=fields["error_description"],
        )
        return True
