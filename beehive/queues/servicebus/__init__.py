"""Azure Service Bus as the broker: topics, subscriptions, queues, sessions, dead-letter queues.

Build it with :meth:`ServiceBusQueueOperator.from_connection_string` or
:meth:`ServiceBusQueueOperator.from_namespace` (``DefaultAzureCredential`` by default, so a
managed identity in production). Delivery counts are the broker's; the broker dead-letters a
message after ``max_deliveries`` with reason ``MaxDeliveryCountExceeded``.

An abandon with a delay keeps the message locked (renewing the lock) until the delay is over and
then abandons it: a delayed copy would fan out to every subscription of the topic, and within a
session it would let later messages overtake. If the process dies meanwhile, the lock runs out
and the message comes back early, with its delivery counted, which is honest.

Transient faults (connection loss, throttling, a busy or slow service) are retried with backoff
for ``retry_budget`` seconds; a lock lost before settlement raises ``LeaseLostError``. Events too
large for one message go through the ``claim_check`` store when there is one.

Replaying dead letters receives them from the dead-letter sub-queue and sends each selected one
again: into a plain queue directly; into a subscription through its topic, addressed to that
subscription alone by the ``beehive.replay_to`` property, which the rule every beehive
subscription has filters on (see ``_topology``). The others are abandoned back to the
dead-letter queue when the sweep ends (their delivery count grows by one).
"""

from __future__ import annotations

try:
    import azure.servicebus  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.queues.servicebus needs the Azure SDK: pip install 'beehive-actors[azure]'"
    ) from error

from beehive.errors import EventTooLargeError
from beehive.queues.servicebus._operator import ServiceBusQueueOperator

__all__ = ["EventTooLargeError", "ServiceBusQueueOperator"]
