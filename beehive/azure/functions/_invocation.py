"""One actor's function: a trigger's message in, the actor run, its events out, settled.

Each step is the container host's own code: the message becomes an event through the Service
Bus operator's mapping and claim-check loading (:func:`~beehive.queues.servicebus._mapping.
read_event`), the actor is built by the host's factory (dependencies from the container), and
its events are stamped and published as the host does (:mod:`beehive._outgoing`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func

from beehive._lineage import done, handling
from beehive._outgoing import publish, stamp_all
from beehive.actors import ActorDescriptor
from beehive.azure.functions._settlement import Settlement
from beehive.errors import BadEventBody, DeadLetter
from beehive.events import Event
from beehive.names import QueueName
from beehive.queues.base import DeadLetterInfo, QueueOperator
from beehive.queues.servicebus import ServiceBusQueueOperator
from beehive.queues.servicebus import _mapping as mapping

logger = logging.getLogger("beehive.azure.functions")

Operator = Callable[[], Awaitable[QueueOperator]]
"""Gives the app's operator, built on first use."""


class ActorFunction:
    """Handles one trigger message for one actor descriptor (see the module docstring)."""

    def __init__(
        self,
        descriptor: ActorDescriptor,
        factory: Callable[[], Any],
        operator: Operator,
        settlement: Settlement,
    ) -> None:
        self.descriptor = descriptor
        self._source = QueueName(descriptor.source)
        self._factory = factory
        self._operator = operator
        self._settlement = settlement
        self._closes = callable(getattr(descriptor.actor_type, "aclose", None))

    async def __call__(self, message: func.ServiceBusMessage) -> None:
        operator = await self._operator()
        servicebus = operator if isinstance(operator, ServiceBusQueueOperator) else None
        claim_check = servicebus.claim_check if servicebus else None
        csharp = servicebus.csharp if servicebus else False
        # The runtime's DeliveryCount (the .NET SDK's) counts this delivery, as beehive's does.
        deliveries = max(message.delivery_count or 1, 1)
        try:
            event = await mapping.read_event(
                message,
                message.get_body().decode(),
                claim_check,
                source=self._source,
                csharp=csharp,
            )
        except UnicodeDecodeError as error:
            await self._dead_letter(message, deliveries, "UnreadableMessage", str(error))
            return
        except mapping.Unreadable as problem:
            await self._dead_letter(message, deliveries, problem.reason, problem.description)
            return
        event = event.evolve({"delivery_count": deliveries})
        try:
            await publish(operator, await self._act(event))
        except (BadEventBody, DeadLetter) as error:
            reason = f"{self.descriptor.name} raised {type(error).__name__}: {error}"
            await self._dead_letter(
                message, deliveries, reason[:4096], type(error).__name__, error=error
            )
            return
        except BaseException:
            await self._settlement.abandon(message)
            raise
        await self._settlement.complete(message)

    async def _act(self, event: Event) -> list[Event]:
        actor = self._factory()
        lineage = handling(event.id, self.descriptor.name)
        try:
            results = await actor.process(event)
        finally:
            done(lineage)
            if self._closes:
                try:
                    await actor.aclose()
                except Exception:
                    logger.exception("%s: aclose failed", self.descriptor.name)
        return stamp_all(event, results)

    async def _dead_letter(
        self,
        message: func.ServiceBusMessage,
        deliveries: int,
        reason: str,
        description: str,
        *,
        error: BaseException | None = None,
    ) -> None:
        """Dead-letter at once when the function settles; else fail, for the runtime to
        abandon (Service Bus dead-letters it at the entity's MaxDeliveryCount)."""
        name = self.descriptor.name
        info = DeadLetterInfo.now(
            reason,
            description,
            deliveries,
            actor=name,
            error_type=type(error).__name__ if error is not None else None,
        )
        if await self._settlement.dead_letter(message, mapping.dead_letter_fields(info)):
            logger.error("%s: dead-lettered message %s: %s", name, message.message_id, reason)
            return
        logger.error(
            "%s: message %s cannot succeed (%s: %s), and only the runtime settles: it is abandoned "
            "until the entity's MaxDeliveryCount dead-letters it (pass message_actions to "
            "dead-letter at once)",
            name,
            message.message_id,
            reason,
            description,
        )
        raise error if error is not None else DeadLetter(f"{reason}: {description}")
