"""A strict, in-process stand-in for the Service Bus SDK's async clients (no emulator runs here).

It sits exactly at the client boundary the operator uses: ``ServiceBusClient`` (senders,
receivers, session receivers, the dead-letter sub-queue) and ``ServiceBusAdministrationClient``
(get, create and delete of queues, topics and subscriptions; listing subscriptions; listing and
updating their rules). Messages are the SDK's own: what a
sender gets is encoded to AMQP bytes with the SDK's transport, decoded again, stamped with the
annotations the broker adds, and handed back as a real ``ServiceBusReceivedMessage``, so mapping
code meets the same objects (bytes keys, generator bodies, a zero-based AMQP delivery count) as
in production.

Strict: a call the real client refuses raises what the SDK raises (an unknown entity,
``MessagingEntityNotFoundError``; an expired or unknown lock, ``MessageLockLostError``; a
settled message, ``MessageAlreadySettled``; a non-positive wait, ``ValueError``). Behaviour the
fake cannot vouch for raises ``NotImplementedError`` instead of guessing. Faults are injected
per operation with :meth:`FakeNamespace.fail_next`.

Subscription rules: a subscription is created with the service's ``$Default`` rule (a
``TrueRuleFilter``). The fake evaluates exactly two filters, that one and beehive's replay
filter (``beehive.queues.servicebus._topology.replay_filter``: ``NOT EXISTS([beehive.replay_to]) OR
[beehive.replay_to] = '<subscription>'``), and only one rule per subscription; any other SQL,
another filter type or a second rule raises ``NotImplementedError``. The dead-letter sub-queue
can be received from in peek-lock mode: complete removes, abandon gives back with one more
delivery (a dead letter is never dead-lettered again).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import re
import uuid
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError
from azure.servicebus import (
    NEXT_AVAILABLE_SESSION,
    ServiceBusMessage,
    ServiceBusMessageBatch,
    ServiceBusReceivedMessage,
    ServiceBusReceiveMode,
    ServiceBusSubQueue,
)
from azure.servicebus._common.utils import transform_outbound_messages
from azure.servicebus._pyamqp._decode import decode_payload
from azure.servicebus._pyamqp.message import Header, Message
from azure.servicebus._pyamqp.performatives import TransferFrame
from azure.servicebus._transport._pyamqp_transport import PyamqpTransport
from azure.servicebus.exceptions import (
    MessageAlreadySettled,
    MessageLockLostError,
    MessageSizeExceededError,
    MessagingEntityNotFoundError,
    OperationTimeoutError,
    ServiceBusConnectionError,
    ServiceBusError,
    SessionLockLostError,
)
from azure.servicebus.management import (
    QueueProperties,
    QueueRuntimeProperties,
    RuleProperties,
    SqlRuleFilter,
    SubscriptionProperties,
    SubscriptionRuntimeProperties,
    TopicProperties,
    TrueRuleFilter,
)
from azure.servicebus.management._generated.models import (
    MessageCountDetails,
    QueueDescription,
    SubscriptionDescription,
)

from beehive.backoff import Backoff
from beehive.queues.base import QueueOperator
from beehive.queues.servicebus import ServiceBusQueueOperator
from beehive.queues.servicebus._links import SDK_RETRIES
from beehive.queues.servicebus._mapping import REPLAY_TO

T = TypeVar("T")
logger = logging.getLogger("azure.servicebus.aio._base_handler_async")
STANDARD_MAX_MESSAGE_SIZE = 256 * 1024
PREMIUM_MAX_BATCH_SIZE = 1024 * 1024  # MAX_BATCH_SIZE_PREMIUM in the SDK's _common/constants.py
MAX_LOCK_DURATION = timedelta(minutes=5)
_REPLAY_FILTER = re.compile(
    re.escape(f"NOT EXISTS([{REPLAY_TO}]) OR [{REPLAY_TO}] = ") + r"'((?:[^']|'')*)'"
)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _now() -> datetime:
    return datetime.now(UTC)


class _Response:
    """The little of an HTTP response that ``HttpResponseError`` reads."""

    def __init__(self, status: int, reason: str) -> None:
        self.status_code, self.reason, self.headers = status, reason, {}

    def text(self) -> str:
        return ""


def http_error(status: int, reason: str, message: str) -> HttpResponseError:
    """What the administration client raises (it rewraps every typed HTTP error as this)."""
    return HttpResponseError(message=message, response=_Response(status, reason))


@dataclass(eq=False)
class _Stored:
    amqp: Message
    sequence_number: int
    enqueued_at: datetime
    visible_at: datetime
    session_id: str | None
    deliveries: int = 0  # prior deliveries: the AMQP header's zero-based delivery-count
    lock_token: uuid.UUID | None = None
    link: int = 0  # which link of its holder received it
    locked_until: datetime | None = None
    holder: FakeReceiver | None = None


@dataclass(eq=False)
class _Entity:
    name: str
    max_delivery_count: int = 10
    lock_duration: timedelta = timedelta(minutes=1)
    requires_session: bool = False
    messages: list[_Stored] = field(default_factory=list)
    dead: list[_Stored] = field(default_factory=list)
    sessions: dict[str, tuple[FakeReceiver, datetime]] = field(default_factory=dict)
    rules: dict[str, RuleProperties] | None = None  # a subscription's; None for a queue

    def admits(self, message: ServiceBusMessage) -> bool:
        """Whether this subscription's rule lets ``message`` in (see the module docstring)."""
        if self.rules is None:
            return True
        if len(self.rules) != 1:
            raise NotImplementedError("the fake evaluates exactly one rule per subscription")
        (rule,) = self.rules.values()
        if isinstance(rule.filter, TrueRuleFilter):
            return True
        if not isinstance(rule.filter, SqlRuleFilter):
            raise NotImplementedError(f"the fake does not evaluate {type(rule.filter).__name__}")
        match = _REPLAY_FILTER.fullmatch(rule.filter.sql_expression or "")
        if match is None:
            raise NotImplementedError(
                "the fake evaluates beehive's replay filter only, not "
                f"{rule.filter.sql_expression!r}"
            )
        properties = {
            k.decode() if isinstance(k, bytes) else k: v
            for k, v in (message.application_properties or {}).items()
        }
        if REPLAY_TO not in properties:
            return True
        target = properties[REPLAY_TO]
        target = target.decode() if isinstance(target, bytes) else target
        return bool(target == match.group(1).replace("''", "'"))


class FakeNamespace:
    """The broker's state: entities, messages, locks. Shared by the fake clients built on it."""

    def __init__(
        self,
        *,
        max_message_size: int = STANDARD_MAX_MESSAGE_SIZE,
        max_batch_size: int | None = None,
    ) -> None:
        self.max_message_size = max_message_size
        self.max_batch_size = max_batch_size or min(max_message_size, PREMIUM_MAX_BATCH_SIZE)
        """What the link reports as ``com.microsoft:max-message-batch-size``."""
        self.queues: dict[str, _Entity] = {}
        self.topics: dict[str, dict[str, _Entity]] = {}
        self.can_manage = True
        self.reachable = True
        """False: every call fails as the SDK's do when the host does not answer."""
        self.calls: list[str] = []
        self.connections = 0
        """AMQP connections open now: one per open sender or receiver, as the async SDK does not
        share them (``_connection_sharing = False`` in ``aio/_servicebus_client_async.py``)."""
        self.connections_opened = 0
        self.peek_page: int | None = None
        """At most this many messages per peek: "the Peek operation returns at most the
        requested number of messages" (learn.microsoft.com .../message-browsing), not always
        that many."""
        self._faults: dict[str, deque[Exception]] = defaultdict(deque)
        self._expiring: dict[str, int] = {}
        self._sequence = itertools.count(1)
        self._changed = asyncio.Event()

    def fail_next(self, operation: str, *errors: Exception) -> None:
        """Make the next calls of ``operation`` ("send", "receive", "complete", ...) raise."""
        self._faults[operation].extend(errors)

    def expire_locks(self) -> None:
        """Let every message and session lock run out now (as if the lock duration had passed)."""
        past = _now() - timedelta(microseconds=1)
        for entity in self._all():
            for session, (holder, _) in entity.sessions.items():
                entity.sessions[session] = (holder, past)
            for stored in [*entity.messages, *entity.dead]:
                if stored.locked_until is not None:
                    stored.locked_until = past

    def expire_locks_before(self, operation: str, nth: int = 1) -> None:
        """Let every lock run out just before the ``nth`` next ``operation`` (as if something
        long happened in between)."""
        self._expiring[operation] = nth

    def _call(self, operation: str) -> None:
        self.calls.append(operation)
        if operation in self._expiring:
            self._expiring[operation] -= 1
            if not self._expiring[operation]:
                del self._expiring[operation]
                self.expire_locks()
        if not self.reachable:
            raise ServiceBusConnectionError(message="Failed to initiate the connection.")
        if self._faults[operation]:
            raise self._faults[operation].popleft()

    def entity(self, topic_or_queue: str, subscription: str | None = None) -> _Entity:
        found = (
            self.topics.get(topic_or_queue, {}).get(subscription)
            if subscription is not None
            else self.queues.get(topic_or_queue)
        )
        if found is None:
            path = (
                f"{topic_or_queue}/Subscriptions/{subscription}" if subscription else topic_or_queue
            )
            raise MessagingEntityNotFoundError(
                message=f"The messaging entity '{path}' could not be found."
            )
        return found

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait(self, until: datetime) -> None:
        """Sleep until something changes, ``until`` passes, or a scheduled instant arrives."""
        pending = [s.visible_at for e in self._all() for s in e.messages if s.visible_at > _now()]
        pending += [s.locked_until for e in self._all() for s in e.messages if s.locked_until]
        pending += [until for e in self._all() for _, until in e.sessions.values()]
        wake = min([until, *(moment for moment in pending if moment > _now())])
        changed = self._changed
        with suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), max((wake - _now()).total_seconds(), 0) + 0.001)

    def _all(self) -> list[_Entity]:
        return [*self.queues.values(), *(s for subs in self.topics.values() for s in subs.values())]

    # -- the broker's rules ---------------------------------------------------------------------

    def _encode(self, message: ServiceBusMessage) -> bytes:
        """The message's AMQP bytes, by the SDK's own encoder (which fails as it does)."""
        wire = PyamqpTransport.encode_message(message)
        if len(wire) > self.max_message_size:
            raise MessageSizeExceededError(
                message=f"The message of {len(wire)} bytes exceeds {self.max_message_size} bytes."
            )
        return bytes(wire)

    def _accept(self, targets: list[_Entity], message: ServiceBusMessage, wire: bytes) -> None:
        now = _now()
        for entity in targets:
            if entity.requires_session and message.session_id is None:
                raise NotImplementedError(
                    f"{entity.name} requires sessions; what the service does with a message "
                    "without session id is not modelled by the fake"
                )
            entity.messages.append(
                _Stored(
                    amqp=decode_payload(memoryview(wire)),
                    sequence_number=next(self._sequence),
                    enqueued_at=now,
                    visible_at=message.scheduled_enqueue_time_utc or now,
                    session_id=message.session_id,
                )
            )
        self._notify()

    def _expire(self, entity: _Entity) -> None:
        """Locks that ran out count as a failed delivery, as on the service."""
        now = _now()
        for session, (_, until) in list(entity.sessions.items()):
            if until <= now:
                del entity.sessions[session]
                for stored in entity.messages:
                    if stored.session_id == session and stored.lock_token is not None:
                        self._unlock(entity, stored)
        for stored in list(entity.messages):
            if stored.locked_until is not None and stored.locked_until <= now:
                self._unlock(entity, stored)
        for stored in entity.dead:
            if stored.locked_until is not None and stored.locked_until <= now:
                self._unlock(entity, stored)

    def _unlock(self, entity: _Entity, stored: _Stored) -> None:
        stored.lock_token = stored.locked_until = stored.holder = None
        stored.deliveries += 1
        if stored.deliveries >= entity.max_delivery_count and stored not in entity.dead:
            description = (
                f"Message could not be consumed after {stored.deliveries} delivery attempts."
            )
            self._bury(entity, stored, "MaxDeliveryCountExceeded", description)
        self._notify()

    def _bury(
        self, entity: _Entity, stored: _Stored, reason: str | None, description: str | None
    ) -> None:
        entity.messages.remove(stored)
        properties = dict(stored.amqp.application_properties or {})
        if reason is not None:
            properties[b"DeadLetterReason"] = reason.encode()
        if description is not None:
            properties[b"DeadLetterErrorDescription"] = description.encode()
        stored.amqp = stored.amqp._replace(application_properties=properties)
        stored.lock_token = stored.locked_until = stored.holder = None
        entity.dead.append(stored)

    def _delivered(
        self, stored: _Stored, receiver: FakeReceiver, *, peeked: bool = False
    ) -> ServiceBusReceivedMessage:
        annotations = dict(stored.amqp.message_annotations or {})
        annotations[b"x-opt-sequence-number"] = stored.sequence_number
        annotations[b"x-opt-enqueued-time"] = _ms(stored.enqueued_at)
        if stored.locked_until is not None and not peeked:
            annotations[b"x-opt-locked-until"] = _ms(stored.locked_until)
        amqp = stored.amqp._replace(
            header=Header(delivery_count=stored.deliveries), message_annotations=annotations
        )
        if peeked:
            return ServiceBusReceivedMessage(amqp, receiver=receiver, is_peeked_message=True)
        token = stored.lock_token
        frame = TransferFrame(
            handle=0,
            delivery_id=stored.sequence_number,
            delivery_tag=token.bytes_le if token else None,
        )
        return ServiceBusReceivedMessage(amqp, receiver=receiver, frame=frame)


def _model(cls: type[Any], name: str, **given: Any) -> Any:
    """A real SDK properties model, every field the fake does not track left as None."""
    fields = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "name")]
    return cls(name, **{f: given.get(f) for f in fields})


class FakeAdministrationClient:
    """``ServiceBusAdministrationClient``: entities by name; refuses all when it may not manage."""

    def __init__(self, namespace: FakeNamespace) -> None:
        self._ns = namespace

    def _check(self, operation: str) -> None:
        if not self._ns.reachable:  # the HTTP pipeline's own error, before any request
            raise ServiceRequestError("Cannot connect to host fake.servicebus.windows.net:443")
        self._ns._call(operation)
        if not self._ns.can_manage:
            raise http_error(401, "Unauthorized", "Unauthorized: the Manage claim is required.")

    async def get_queue(self, queue_name: str) -> QueueProperties:
        self._check("get_queue")
        entity = self._ns.queues.get(queue_name)
        if entity is None:
            raise ResourceNotFoundError(f"Queue '{queue_name}' does not exist")
        return _model(QueueProperties, queue_name, **_settings(entity))

    async def get_topic(self, topic_name: str) -> TopicProperties:
        self._check("get_topic")
        if topic_name not in self._ns.topics:
            raise ResourceNotFoundError(f"Topic '{topic_name}' does not exist")
        return _model(TopicProperties, topic_name)

    async def get_subscription(
        self, topic_name: str, subscription_name: str
    ) -> SubscriptionProperties:
        self._check("get_subscription")
        entity = self._ns.topics.get(topic_name, {}).get(subscription_name)
        if entity is None:
            raise ResourceNotFoundError(
                f"Subscription('Topic: {topic_name}, Subscription: {subscription_name}') "
                "does not exist"
            )
        return _model(SubscriptionProperties, subscription_name, **_settings(entity))

    async def get_queue_runtime_properties(self, queue_name: str) -> QueueRuntimeProperties:
        self._check("get_queue_runtime_properties")
        entity = self._ns.queues.get(queue_name)
        if entity is None:
            raise ResourceNotFoundError(f"Queue '{queue_name}' does not exist")
        return QueueRuntimeProperties._from_internal_entity(
            queue_name, QueueDescription(**_counts(entity))
        )

    async def get_subscription_runtime_properties(
        self, topic_name: str, subscription_name: str
    ) -> SubscriptionRuntimeProperties:
        self._check("get_subscription_runtime_properties")
        entity = self._subscription(topic_name, subscription_name)
        return SubscriptionRuntimeProperties._from_internal_entity(
            subscription_name, SubscriptionDescription(**_counts(entity))
        )

    async def create_queue(self, queue_name: str, **settings: Any) -> QueueProperties:
        self._check("create_queue")
        if queue_name in self._ns.queues or queue_name in self._ns.topics:
            raise http_error(
                409, "Conflict", f"The messaging entity '{queue_name}' already exists."
            )
        self._ns.queues[queue_name] = _entity(queue_name, settings)
        return await self.get_queue(queue_name)

    async def create_topic(self, topic_name: str) -> TopicProperties:
        self._check("create_topic")
        if topic_name in self._ns.queues or topic_name in self._ns.topics:
            raise http_error(
                409, "Conflict", f"The messaging entity '{topic_name}' already exists."
            )
        self._ns.topics[topic_name] = {}
        return await self.get_topic(topic_name)

    async def create_subscription(
        self, topic_name: str, subscription_name: str, **settings: Any
    ) -> SubscriptionProperties:
        self._check("create_subscription")
        if topic_name not in self._ns.topics:
            raise ResourceNotFoundError(f"Topic '{topic_name}' does not exist")
        subscriptions = self._ns.topics[topic_name]
        if subscription_name in subscriptions:
            raise http_error(
                409, "Conflict", f"The subscription '{subscription_name}' already exists."
            )
        subscriptions[subscription_name] = _entity(
            f"{topic_name}/Subscriptions/{subscription_name}", settings
        )
        default = RuleProperties(
            "$Default", filter=TrueRuleFilter(), action=None, created_at_utc=None
        )
        subscriptions[subscription_name].rules = {default.name: default}
        return await self.get_subscription(topic_name, subscription_name)

    def list_subscriptions(self, topic_name: str) -> AsyncIterator[SubscriptionProperties]:
        async def pages() -> AsyncIterator[SubscriptionProperties]:
            self._check("list_subscriptions")
            if topic_name not in self._ns.topics:
                raise ResourceNotFoundError(f"Topic '{topic_name}' does not exist")
            for name in list(self._ns.topics[topic_name]):
                yield await self.get_subscription(topic_name, name)

        return pages()

    def _subscription(self, topic_name: str, subscription_name: str) -> _Entity:
        entity = self._ns.topics.get(topic_name, {}).get(subscription_name)
        if entity is None or entity.rules is None:
            raise ResourceNotFoundError(
                f"Subscription('Topic: {topic_name}, Subscription: {subscription_name}') "
                "does not exist"
            )
        return entity

    def list_rules(self, topic_name: str, subscription_name: str) -> AsyncIterator[RuleProperties]:
        async def pages() -> AsyncIterator[RuleProperties]:
            self._check("list_rules")
            rules = self._subscription(topic_name, subscription_name).rules or {}
            for rule in list(rules.values()):
                yield deepcopy(rule)

        return pages()

    async def update_rule(
        self, topic_name: str, subscription_name: str, rule: RuleProperties
    ) -> None:
        self._check("update_rule")
        rules = self._subscription(topic_name, subscription_name).rules or {}
        if rule.name not in rules:
            raise ResourceNotFoundError(f"Rule '{rule.name}' does not exist")
        if not isinstance(rule.filter, SqlRuleFilter) or (
            not isinstance(rule.filter, TrueRuleFilter)
            and not _REPLAY_FILTER.fullmatch(rule.filter.sql_expression or "")
        ):
            raise NotImplementedError(f"the fake does not model the filter {rule.filter!r}")
        if rule.action is not None or getattr(rule.filter, "parameters", None):
            raise NotImplementedError("the fake models rules without actions or parameters")
        rules[rule.name] = deepcopy(rule)

    async def delete_queue(self, queue_name: str) -> None:
        self._check("delete_queue")
        if self._ns.queues.pop(queue_name, None) is None:
            raise ResourceNotFoundError(f"Queue '{queue_name}' does not exist")

    async def delete_topic(self, topic_name: str) -> None:
        self._check("delete_topic")
        if self._ns.topics.pop(topic_name, None) is None:
            raise ResourceNotFoundError(f"Topic '{topic_name}' does not exist")

    async def delete_subscription(self, topic_name: str, subscription_name: str) -> None:
        self._check("delete_subscription")
        if self._ns.topics.get(topic_name, {}).pop(subscription_name, None) is None:
            raise ResourceNotFoundError(f"Subscription '{subscription_name}' does not exist")

    async def close(self) -> None:
        pass


def _counts(entity: _Entity) -> dict[str, Any]:
    """An entity description's counts, as the service reports them: a locked message is still
    active; one waiting for its scheduled time is not."""
    now = _now()
    scheduled = sum(1 for m in entity.messages if m.lock_token is None and m.visible_at > now)
    return {
        "message_count": len(entity.messages) + len(entity.dead),
        "message_count_details": MessageCountDetails(
            active_message_count=len(entity.messages) - scheduled,
            dead_letter_message_count=len(entity.dead),
            scheduled_message_count=scheduled,
            transfer_dead_letter_message_count=0,
            transfer_message_count=0,
        ),
    }


def _settings(entity: _Entity) -> dict[str, Any]:
    return {
        "max_delivery_count": entity.max_delivery_count,
        "lock_duration": entity.lock_duration,
        "requires_session": entity.requires_session,
    }


def _entity(name: str, settings: dict[str, Any]) -> _Entity:
    known = {
        "max_delivery_count",
        "lock_duration",
        "requires_session",
        "dead_lettering_on_message_expiration",
    }
    if set(settings) - known:
        raise NotImplementedError(f"the fake does not model {sorted(set(settings) - known)}")
    lock = settings.get("lock_duration") or timedelta(minutes=1)
    if not timedelta(seconds=5) <= lock <= MAX_LOCK_DURATION:
        raise http_error(
            400, "Bad Request", f"LockDuration {lock} is outside 00:00:05 to 00:05:00."
        )
    return _Entity(
        name,
        max_delivery_count=settings.get("max_delivery_count") or 10,
        lock_duration=lock,
        requires_session=bool(settings.get("requires_session")),
    )


class FakeServiceBusClient:
    """``azure.servicebus.aio.ServiceBusClient`` over a :class:`FakeNamespace`."""

    def __init__(
        self,
        namespace: FakeNamespace,
        fully_qualified_namespace: str = "fake.servicebus.windows.net",
        *,
        retry_total: int = 3,
        retry_backoff_factor: float = 0.8,
        retry_backoff_max: float = 120,
        retry_mode: str = "exponential",
    ) -> None:
        if retry_mode != "exponential":
            raise NotImplementedError("the fake models the SDK's exponential retry mode only")
        self.namespace = namespace
        self.fully_qualified_namespace = fully_qualified_namespace
        self.closed = False
        self.retry = _RetryOptions(retry_total, retry_backoff_factor, retry_backoff_max)
        self.receivers: list[FakeReceiver] = []

    def get_queue_sender(self, queue_name: str) -> FakeSender:
        return FakeSender(self, queue_name, topic=False)

    def get_topic_sender(self, topic_name: str) -> FakeSender:
        return FakeSender(self, topic_name, topic=True)

    def get_queue_receiver(
        self,
        queue_name: str,
        *,
        session_id: str | object | None = None,
        sub_queue: ServiceBusSubQueue | None = None,
        receive_mode: ServiceBusReceiveMode = ServiceBusReceiveMode.PEEK_LOCK,
        max_wait_time: float | None = None,
        prefetch_count: int = 0,
    ) -> FakeReceiver:
        return self._receiver(
            (queue_name, None), session_id, sub_queue, receive_mode, max_wait_time, prefetch_count
        )

    def get_subscription_receiver(
        self,
        topic_name: str,
        subscription_name: str,
        *,
        session_id: str | object | None = None,
        sub_queue: ServiceBusSubQueue | None = None,
        receive_mode: ServiceBusReceiveMode = ServiceBusReceiveMode.PEEK_LOCK,
        max_wait_time: float | None = None,
        prefetch_count: int = 0,
    ) -> FakeReceiver:
        return self._receiver(
            (topic_name, subscription_name),
            session_id,
            sub_queue,
            receive_mode,
            max_wait_time,
            prefetch_count,
        )

    def _receiver(self, *args: Any) -> FakeReceiver:
        """A receiver, recorded with its ``prefetch_count`` (which the fake records but does
        not model: it locks messages when they are received, as with no prefetch)."""
        receiver = FakeReceiver(self, *args)
        self.receivers.append(receiver)
        return receiver

    async def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class _RetryOptions:
    """``ServiceBusClient``'s retry keywords and their defaults (``_common/_configuration.py``)."""

    total: int
    backoff_factor: float
    backoff_max: float


class _Handler:
    """What every SDK sender and receiver shares (``aio/_base_handler_async.py``).

    Each handler opens its own AMQP link and connection on first use, and retries each
    operation itself (``_do_retryable_operation``): an error that is not a ``ServiceBusError``
    is wrapped as one that shuts the handler down (``create_servicebus_exception``: "Handler
    failed"); an error whose ``_shutdown_handler`` is set closes the link (the next operation
    opens a new one, but what it had received can no longer be settled); a retryable error is
    tried again ``retry_total`` times after ``backoff_factor * 2**n`` seconds. ``close()`` is
    final: any later call raises ``ValueError``, as ``_check_live`` does.
    """

    def __init__(self, client: FakeServiceBusClient) -> None:
        self._client, self._ns = client, client.namespace
        self._running = False
        self._closed = False

    def _check_live(self) -> None:
        if self._closed:
            raise ValueError(
                "The handler has already been shutdown. "
                "Please use ServiceBusClient to create a new instance."
            )

    async def _attach(self) -> None:
        """Open the link (a subclass checks the entity here)."""

    async def _open(self, operation: str) -> None:
        if self._running:
            return
        self._ns._call(operation)
        await self._attach()
        self._running = True
        self._ns.connections += 1
        self._ns.connections_opened += 1

    async def _close_handler(self) -> None:
        if self._running:
            self._running = False
            self._ns.connections -= 1
            await self._detach()

    async def _detach(self) -> None:
        """What the service does when the link goes (a subclass releases a session here)."""

    async def _retryable(self, operation: str, attempt: Callable[[], Awaitable[T]]) -> T:
        retry, retried = self._client.retry, 0
        while True:
            try:
                return await attempt()
            except Exception as exception:
                error = _sdk_error(exception)
                if error is not exception:  # as the SDK logs it
                    logger.error("Unexpected error occurred (%r). Handler shutting down.", error)
                if error._shutdown_handler:
                    await self._close_handler()
                if not error._retryable or self._session_lost(error):
                    raise error from None if error is exception else exception
                retried += 1
                if retried > retry.total:
                    raise error from None
                await asyncio.sleep(min(retry.backoff_max, retry.backoff_factor * 2**retried))

    def _session_lost(self, error: ServiceBusError) -> bool:
        """A session receiver does not retry a lost session or connection (see subclass)."""
        return False

    async def close(self) -> None:
        await self._close_handler()
        self._closed = True

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


def _sdk_error(exception: Exception) -> ServiceBusError:
    """``create_servicebus_exception``: anything else becomes a handler-killing ServiceBusError."""
    if isinstance(exception, ServiceBusError):
        return exception
    return ServiceBusError(message=f"Handler failed: {exception}.", error=exception)


class FakeSender(_Handler):
    def __init__(self, client: FakeServiceBusClient, name: str, *, topic: bool) -> None:
        super().__init__(client)
        self._name, self._topic = name, topic

    def _targets(self) -> list[_Entity]:
        # Senders address entities by path: a "topic sender" reaches a queue of that name too.
        if self._name in self._ns.topics:
            return list(self._ns.topics[self._name].values())  # none: accepted and dropped
        if self._name in self._ns.queues:
            return [self._ns.queues[self._name]]
        raise MessagingEntityNotFoundError(
            message=f"The messaging entity '{self._name}' could not be found."
        )

    async def _attach(self) -> None:
        self._targets()

    async def __aenter__(self) -> FakeSender:
        self._check_live()
        await self._retryable("open_sender", lambda: self._open("open_sender"))
        return self

    async def create_message_batch(
        self, max_size_in_bytes: int | None = None
    ) -> ServiceBusMessageBatch:
        """A batch capped as the link says: ``com.microsoft:max-message-batch-size``, which is
        1 MB on Premium even where one message may be 100 MB (``_servicebus_sender_async.py``)."""
        self._check_live()
        await self._retryable("open_sender", lambda: self._open("open_sender"))
        cap = self._ns.max_batch_size
        if max_size_in_bytes is not None and max_size_in_bytes > cap:
            raise ValueError(
                f"Max message size: {max_size_in_bytes} is too large, "
                f"acceptable max batch size is: {cap} bytes."
            )
        return ServiceBusMessageBatch(max_size_in_bytes=max_size_in_bytes or cap)

    async def send_messages(self, message: Any, *, timeout: float | None = None) -> None:
        self._check_live()
        if isinstance(message, ServiceBusMessageBatch):
            messages = list(message._messages)
        else:
            sendable = transform_outbound_messages(
                message, ServiceBusMessage, PyamqpTransport.to_outgoing_amqp_message
            )
            messages = sendable if isinstance(sendable, list) else [sendable]

        async def send() -> None:
            await self._open("open_sender")
            self._ns._call("send")
            targets = self._targets()
            # Encoded before anything is stored, as the SDK does: a batch fails whole.
            wires = [self._ns._encode(each) for each in messages]
            for each, wire in zip(messages, wires, strict=True):
                self._ns._accept([t for t in targets if t.admits(each)], each, wire)

        await self._retryable("send", send)


class FakeSession:
    """``receiver.session``: the locked session."""

    def __init__(self, receiver: FakeReceiver, session_id: str) -> None:
        self._receiver, self.session_id = receiver, session_id

    @property
    def locked_until_utc(self) -> datetime | None:
        holder = self._receiver._entity().sessions.get(self.session_id)
        return holder[1] if holder else None

    async def renew_lock(self, *, timeout: float | None = None) -> datetime:
        receiver = self._receiver
        receiver._check_live()

        async def renew() -> datetime:
            receiver._ns._call("renew_session")
            entity = receiver._entity()
            receiver._ns._expire(entity)
            if entity.sessions.get(self.session_id, (None,))[0] is not receiver:
                raise SessionLockLostError(message="The session lock has expired.")
            until = _now() + entity.lock_duration
            entity.sessions[self.session_id] = (receiver, until)
            return until

        return await receiver._retryable("renew_session", renew)


class FakeReceiver(_Handler):
    def __init__(
        self,
        client: FakeServiceBusClient,
        path: tuple[str, str | None],
        session_id: str | object | None,
        sub_queue: ServiceBusSubQueue | None,
        receive_mode: ServiceBusReceiveMode,
        max_wait_time: float | None,
        prefetch_count: int = 0,
    ) -> None:
        if receive_mode != ServiceBusReceiveMode.PEEK_LOCK:
            raise NotImplementedError("the fake models peek-lock only")
        super().__init__(client)
        self._path = path
        self._wanted_session, self._sub_queue, self._max_wait = session_id, sub_queue, max_wait_time
        self.prefetch_count = prefetch_count
        self.session: FakeSession | None = None
        self._link = 0
        """Which link this is: each reopening attaches a new one."""

    def _entity(self) -> _Entity:
        return self._ns.entity(*self._path)

    def _check_live(self) -> None:
        super()._check_live()
        # A session receiver whose link went is done: "once there's a connection error, we
        # don't retry on the session entity and simply raise SessionLockLostError".
        if self.session is not None and not self._running:
            raise SessionLockLostError(message="The session lock has expired.")

    async def __aenter__(self) -> FakeReceiver:
        self._check_live()
        await self._retryable("open_receiver", lambda: self._open("open_receiver"))
        return self

    async def _attach(self) -> None:
        entity = self._entity()
        if self._sub_queue is not None:
            if self._wanted_session is not None:
                raise ServiceBusError(message="The dead-letter sub-queue is not sessionful.")
        elif entity.requires_session and self._wanted_session is None:
            raise ServiceBusError(
                message="It is not possible for an entity that requires sessions to create "
                "a non-sessionful message receiver."
            )
        elif not entity.requires_session and self._wanted_session is not None:
            raise ServiceBusError(
                message="It is not possible for an entity that does not require sessions "
                "to create a sessionful message receiver."
            )
        elif self._wanted_session is NEXT_AVAILABLE_SESSION:
            await self._accept_session(entity)
        elif self._wanted_session is not None:
            raise NotImplementedError("the fake models NEXT_AVAILABLE_SESSION only")
        self._link += 1

    async def _accept_session(self, entity: _Entity) -> None:
        """Wait ``max_wait_time`` for a free session; none is the service's ``com.microsoft:
        timeout``, which the SDK raises as ``OperationTimeoutError`` (retryable: the SDK tries
        ``retry_total`` more times, backing off between)."""
        deadline = _now() + timedelta(seconds=self._max_wait or 60)
        while True:
            self._ns._expire(entity)
            now = _now()
            for stored in entity.messages:
                session = stored.session_id or ""
                if (
                    session not in entity.sessions
                    and stored.visible_at <= now
                    and stored.lock_token is None
                ):
                    entity.sessions[session] = (self, now + entity.lock_duration)
                    self.session = FakeSession(self, session)
                    return
            if _now() >= deadline:
                raise OperationTimeoutError(message="Operation timed out.")
            await self._ns._wait(deadline)

    def _session_lost(self, error: ServiceBusError) -> bool:
        return self.session is not None and isinstance(
            error, SessionLockLostError | ServiceBusConnectionError
        )

    async def _detach(self) -> None:
        """A session goes with its link, and its messages with it, their deliveries not counted
        (a delivery counts when a lock expires or a message is abandoned: ``DeliveryCount`` in
        learn.microsoft.com .../servicebusreceivedmessage.deliverycount). A plain receiver's
        locks outlive its link: they run out at their time and count then."""
        if self.session is None:
            return
        try:
            entity = self._entity()
        except MessagingEntityNotFoundError:
            return
        if self._holds_session(entity):
            del entity.sessions[self.session.session_id]
            for stored in entity.messages:
                if stored.holder is self:
                    stored.lock_token = stored.locked_until = stored.holder = None
            self._ns._notify()

    def _holds_session(self, entity: _Entity) -> bool:
        held = entity.sessions.get(self.session.session_id) if self.session else None
        return held is not None and held[0] is self

    async def receive_messages(
        self, max_message_count: int | None = 1, max_wait_time: float | None = None
    ) -> list[ServiceBusReceivedMessage]:
        self._check_live()
        if max_wait_time is not None and max_wait_time <= 0:
            raise ValueError("The max_wait_time must be greater than 0.")
        if max_message_count is not None and max_message_count <= 0:
            raise ValueError("The max_message_count must be greater than 0")

        async def receive() -> list[ServiceBusReceivedMessage]:
            await self._open("open_receiver")
            self._ns._call("receive")
            deadline = _now() + timedelta(seconds=max_wait_time or self._max_wait or 60)
            while True:
                entity = self._entity()
                self._ns._expire(entity)
                if self.session is not None and not self._holds_session(entity):
                    raise SessionLockLostError(message="The session lock has expired.")
                taken = self._take(entity, max_message_count or 1)
                if taken or _now() >= deadline:
                    return [self._ns._delivered(stored, self) for stored in taken]
                await self._ns._wait(deadline)

        return await self._retryable("receive", receive)

    def _source(self, entity: _Entity) -> list[_Stored]:
        return entity.dead if self._sub_queue is not None else entity.messages

    def _take(self, entity: _Entity, count: int) -> list[_Stored]:
        now, taken = _now(), []
        for stored in self._source(entity):
            if len(taken) == count:
                break
            if self.session is not None and (stored.session_id or "") != self.session.session_id:
                continue
            if stored.lock_token is None and stored.visible_at <= now:
                stored.lock_token, stored.holder, stored.link = uuid.uuid4(), self, self._link
                if self.session is None:
                    stored.locked_until = now + entity.lock_duration
                taken.append(stored)
        return taken

    def _check_message_alive(self, message: ServiceBusReceivedMessage, operation: str) -> None:
        """As ``receiver_mixins._check_message_alive`` and the settle methods check first."""
        self._check_live()
        if not isinstance(message, ServiceBusReceivedMessage):
            raise TypeError("Parameter 'message' must be of type ServiceBusReceivedMessage")
        if message._is_peeked_message:
            raise ValueError(f"The operation {operation} is not supported for peeked messages.")
        if message._settled:
            raise MessageAlreadySettled(action=operation)
        if not self._running:
            raise ValueError(
                f"Failed to {operation} the message as the handler has already been shutdown."
                "Please use ServiceBusClient to create a new instance."
            )
        if message._receiver is not self:
            raise ServiceBusError(
                message="A message can only be settled by the receiver that received it."
            )

    def _locked(
        self, message: ServiceBusReceivedMessage, operation: str, *, by_token: bool = False
    ) -> tuple[_Entity, _Stored]:
        """The stored message ``message`` holds a lock on, or what the service answers instead."""
        self._ns._call(operation)
        entity = self._entity()
        self._ns._expire(entity)
        if self.session is not None and not self._holds_session(entity):
            raise SessionLockLostError(message="The session lock has expired.")
        for stored in self._source(entity):
            if stored.lock_token is not None and stored.lock_token == message.lock_token:
                if stored.link != self._link and not by_token:
                    raise NotImplementedError(
                        "the fake does not vouch for settling, over a new link, a message "
                        "received on a link that went down"
                    )
                return entity, stored
        raise MessageLockLostError(
            message="The lock supplied is invalid. Either the lock expired, "
            "or the message has already been removed from the queue."
        )

    async def _settle(
        self, message: ServiceBusReceivedMessage, operation: str, settle: Callable[..., None]
    ) -> None:
        self._check_message_alive(message, operation)

        async def attempt() -> None:
            # A retry after the link went settles by lock token over the management link,
            # which reopens the handler (``_settle_message`` falls back to it on RuntimeError).
            by_token = not self._running
            await self._open("open_receiver")
            settle(*self._locked(message, operation, by_token=by_token))
            self._ns._notify()

        await self._retryable(operation, attempt)
        message._settled = True

    async def complete_message(self, message: ServiceBusReceivedMessage) -> None:
        await self._settle(
            message, "complete", lambda entity, stored: self._source(entity).remove(stored)
        )

    async def abandon_message(self, message: ServiceBusReceivedMessage) -> None:
        await self._settle(message, "abandon", self._ns._unlock)

    async def dead_letter_message(
        self,
        message: ServiceBusReceivedMessage,
        reason: str | None = None,
        error_description: str | None = None,
    ) -> None:
        if self._sub_queue is not None:
            raise NotImplementedError("the fake does not dead-letter a dead letter")
        await self._settle(
            message,
            "dead_letter",
            lambda entity, stored: self._ns._bury(entity, stored, reason, error_description),
        )

    async def renew_message_lock(
        self, message: ServiceBusReceivedMessage, *, timeout: float | None = None
    ) -> datetime:
        self._check_live()
        if self.session is not None:
            raise TypeError(
                "Session messages cannot be renewed. Please renew the session lock instead."
            )

        async def renew() -> datetime:
            # By lock token over the management link, which the SDK opens as needed.
            await self._open("open_receiver")
            entity, stored = self._locked(message, "renew", by_token=True)
            stored.locked_until = _now() + entity.lock_duration
            return stored.locked_until

        until = await self._retryable("renew", renew)
        message._expiry = until  # as the SDK records the new expiry on the message
        return until

    async def peek_messages(
        self, max_message_count: int = 1, *, sequence_number: int = 0, timeout: float | None = None
    ) -> list[ServiceBusReceivedMessage]:
        self._check_live()

        async def peek() -> list[ServiceBusReceivedMessage]:
            await self._open("open_receiver")
            self._ns._call("peek")
            source = self._source(self._entity())
            page = min(max_message_count, self._ns.peek_page or max_message_count)
            found = [s for s in source if s.sequence_number >= sequence_number][:page]
            return [self._ns._delivered(stored, self, peeked=True) for stored in found]

        return await self._retryable("peek", peek)


@asynccontextmanager
async def servicebus_fake_unreachable() -> AsyncIterator[QueueOperator]:
    """The Service Bus operator on a fake namespace that does not answer."""
    namespace = FakeNamespace()
    namespace.reachable = False
    client = FakeServiceBusClient(namespace, retry_total=SDK_RETRIES)
    admin = FakeAdministrationClient(namespace)
    async with ServiceBusQueueOperator(client, admin, retry_budget=0) as operator:
        yield operator


@asynccontextmanager
async def servicebus_fake_backend() -> AsyncIterator[QueueOperator]:
    """The Service Bus operator on a fresh fake namespace (a contract-suite backend)."""
    namespace = FakeNamespace()
    client = FakeServiceBusClient(namespace, retry_total=SDK_RETRIES)
    admin = FakeAdministrationClient(namespace)
    async with ServiceBusQueueOperator(
        client, admin, retry_budget=2, backoff=Backoff(0.01, 2, 0.1)
    ) as operator:
        yield operator
