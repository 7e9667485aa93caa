"""The RabbitMQ broker (aio-pika), for running outside Azure: ``beehive-actors[rabbitmq]``.

Mapping: a topic is a durable fanout exchange; a subscription ``Topic-Sub`` is a durable queue
of that name bound to it; a plain queue is a durable queue. Queues are quorum queues by
default (replicated, and they count returns in ``x-delivery-count``). Messages are persistent
and every publish waits for the broker's confirm, so an accepted event survives a restart.

- Lease: an unacknowledged delivery. One consumer per queue pushes deliveries into a local
  buffer; ``next`` takes from it or waits for the next delivery. Its prefetch is the
  ``prefetch`` given, else the number of messages asked for by the callers waiting when the
  consumer starts (the host starts an actor's ``parallelism`` workers together), so nothing
  is fetched that no worker can take.
- Complete is an ack. ``renew_lease`` is a no-op: a delivery stays leased until it is settled
  or its channel dies (the broker's ``consumer_timeout``, 30 minutes by default, closes the
  channel of a delivery held longer, and the broker delivers it again).
- ``delivery_count`` = deliveries recorded in the message by abandons + returns counted by the
  broker (``x-delivery-count``: a consumer that died) + 1. A message delivered more than
  ``max_deliveries`` times is dead-lettered with reason ``MaxDeliveryCountExceeded`` before any
  actor sees it; quorum queues also get ``x-delivery-limit`` as a backstop.
- Abandon publishes a copy with one more recorded delivery, then acks the original.
- Delays (abandon with a delay, ``enqueue_time``) need no plugin: a delayed message waits in a
  delay queue ``<queue>:delay-<n>ms`` (a message TTL of a power of two milliseconds, at most
  the delay left) that dead-letters back to its queue; arriving early, it is sent round again
  to a shorter one, so it is never delivered early and takes at most log2(delay) hops.
- Dead letters go to ``<queue>:dead-letter`` (a classic durable queue) with the reason and
  description in the ``beehive`` header; ``dead_letters`` peeks with unacknowledged
  ``basic.get`` on a channel of its own, whose closing gives them back in order.
- Sessions (``sessions=True``): the queue gets ``x-single-active-consumer``, so one consumer
  in the cluster receives it, in order; that consumer hands out one message per session at a
  time, head first. Parallelism is across sessions within that one process (the others stand
  by), and an abandoned session message stays with that consumer (it is not published again,
  to keep its place), so its extra deliveries are not recorded if that process then dies.
- Two connections: one publishes (and declares), the other consumes, so a memory or disk alarm,
  which blocks the connections that publish, does not stop consumers from acknowledging.
- Connection loss and broker restarts: a connection is re-opened every ``reconnect_interval``
  seconds, channels and consumers are restored; deliveries on a dead channel go back to the
  queue (settling them raises ``LeaseLostError``), and publishing waits for the connection
  for up to ``publish_timeout`` seconds. A handshake not completed within ``connect_timeout``
  seconds is ``BrokerUnavailableError``. An outage is logged once, and its recovery.
"""

from __future__ import annotations

try:
    import aio_pika  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.queues.rabbitmq needs aio-pika: pip install 'beehive-actors[rabbitmq]'"
    ) from error

from beehive.queues.rabbitmq._operator import DEFAULT_URL, QueueType, RabbitMQQueueOperator

__all__ = ["DEFAULT_URL", "QueueType", "RabbitMQQueueOperator"]
