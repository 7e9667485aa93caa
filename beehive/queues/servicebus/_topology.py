"""Topics, subscriptions and queues on Service Bus: creating, checking, deleting, describing.

Creation goes through the administration client, which needs the Manage right. Without it
(HTTP 401 or 403), setup checks through the data plane that the entities exist, which Listen and
Send allow, and names the missing ones.

Every subscription beehive sets up gets one rule, ``$Default``, with the SQL filter of
:func:`replay_filter`: it admits every message except replayed dead letters addressed to
another subscription. A subscription cannot be sent to, so a replay goes to the topic with
``beehive.replay_to`` naming its subscription, and only that one admits it. A replay refuses
to run while any subscription of the topic lacks the filter (it would get a duplicate).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, Final

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.servicebus import ServiceBusSubQueue
from azure.servicebus.aio import ServiceBusClient, ServiceBusSender
from azure.servicebus.aio.management import ServiceBusAdministrationClient
from azure.servicebus.exceptions import MessagingEntityNotFoundError
from azure.servicebus.management import (
    QueueRuntimeProperties,
    SqlRuleFilter,
    SubscriptionRuntimeProperties,
    TrueRuleFilter,
)

from beehive.errors import (
    BrokerLimitError,
    QueueConflictError,
    QueueNotFoundError,
    ReplayRefusedError,
)
from beehive.limits import RULES
from beehive.names import QueueKind, QueueName
from beehive.queues.base import QueueSettings
from beehive.queues.servicebus._links import TRANSIENT, Retrier, logger
from beehive.queues.servicebus._mapping import REPLAY_TO

_RULES: Final = RULES["servicebus"]
DEFAULT_RULE: Final = "$Default"


def replay_filter(subscription: str) -> str:
    """The SQL filter of subscription ``subscription``: all but replays meant for others."""
    quoted = subscription.replace("'", "''")
    return f"NOT EXISTS([{REPLAY_TO}]) OR [{REPLAY_TO}] = '{quoted}'"


def lock_duration(settings: QueueSettings) -> timedelta:
    """The lock duration for ``settings``, in whole seconds (within limits: see below)."""
    return timedelta(seconds=math.ceil(settings.lease_seconds))


def refuse_beyond_limits(name: QueueName, settings: QueueSettings) -> None:
    """``BrokerLimitError`` for a name or settings the service would answer with HTTP 400."""
    problems = [*_RULES.name_problems(name)]
    if not name.is_topic:
        problems += _RULES.settings_problems(settings)
    if problems:
        raise BrokerLimitError(f"cannot set up {name}: " + "; ".join(problems))


def _unauthorized(error: HttpResponseError) -> bool:
    return error.status_code in (401, 403)


def _path(name: QueueName) -> str:
    if name.subscription is not None:
        return f"subscription {name.topic}/Subscriptions/{name.subscription}"
    return f"{name.kind.value} {name.topic}"


class Topology:
    """What the operator knows of entities: which need sessions, which names are topics."""

    def __init__(
        self,
        client: ServiceBusClient,
        admin: ServiceBusAdministrationClient,
        retry: Retrier,
        *,
        trust_filters: bool = False,
    ) -> None:
        self._client = client
        self._trust_filters = trust_filters
        self._admin = admin
        self._retry = retry
        self._sessions: dict[QueueName, bool] = {}
        self._topics: set[str] = set()
        self.prefetch: dict[QueueName, int | None] = {}
        """The ``prefetch`` each subscription or queue was set up with."""
        self._known: dict[str, str] = {}
        """Entity paths set up here, by their case-folded form (the service ignores case)."""

    async def setup(self, name: QueueName, settings: QueueSettings) -> None:
        refuse_beyond_limits(name, settings)
        self._refuse_case_twins(name)
        options: dict[str, Any] = {
            "max_delivery_count": settings.max_deliveries,
            "lock_duration": lock_duration(settings),
            "requires_session": settings.sessions,
            "dead_lettering_on_message_expiration": True,
        }
        topic, subscription = name.topic, name.subscription
        admin = self._admin
        try:
            if not name.is_topic and subscription is None:
                found = await self._ensure(
                    f"queue {topic}",
                    lambda: admin.get_queue(topic),
                    lambda: admin.create_queue(topic, **options),
                )
            else:
                await self._ensure(
                    f"topic {topic}",
                    lambda: admin.get_topic(topic),
                    lambda: admin.create_topic(topic),
                )
                self._topics.add(topic)
                if subscription is None:
                    return
                found = await self._ensure(
                    f"subscription {name}",
                    lambda: admin.get_subscription(topic, subscription),
                    lambda: admin.create_subscription(topic, subscription, **options),
                )
                await self._filter_replays(topic, subscription)
        except HttpResponseError as error:
            if not _unauthorized(error):
                raise
            await self._require_existing(name, settings, error)
            self._sessions[name] = settings.sessions
            self.prefetch[name] = settings.prefetch
            return
        self._compare(name, settings, found)
        self._sessions[name] = bool(found.requires_session)
        self.prefetch[name] = settings.prefetch

    @staticmethod
    def _compare(name: QueueName, settings: QueueSettings, found: Any) -> None:
        """Refuse an existing entity that would break a guarantee; warn about the rest.

        beehive does not change existing entities. Sessions on one side only lose ordering (or
        refuse every receiver); a shorter lock than the lease runs out between renewals.
        """
        wanted_lock, lock = lock_duration(settings), found.lock_duration
        broken = []
        if bool(found.requires_session) != settings.sessions:
            broken.append(
                f"requires_session is {bool(found.requires_session)}, the actor asks for "
                f"{settings.sessions} (ordering per session_id depends on it)"
            )
        if lock is not None and lock < wanted_lock:
            broken.append(
                f"lock_duration is {lock}, the actor asks for {wanted_lock} (its lease would "
                "expire between renewals)"
            )
        if broken:
            raise QueueConflictError(
                f"{_path(name)} exists with other settings: {'; '.join(broken)}. Change the "
                "entity (or delete it to let beehive create it) or the actor's settings"
            )
        if found.max_delivery_count != settings.max_deliveries or lock != wanted_lock:
            logger.warning(
                "%s exists with max_delivery_count=%s, lock_duration=%s (asked for %s, %s); "
                "beehive does not change existing entities",
                _path(name),
                found.max_delivery_count,
                lock,
                settings.max_deliveries,
                wanted_lock,
            )

    def _refuse_case_twins(self, name: QueueName) -> None:
        parts = [name.topic] if name.subscription is None else [name.topic, str(name)]
        for part in parts:
            seen = self._known.setdefault(part.casefold(), part)
            if _RULES.same_entity(seen, part):
                raise BrokerLimitError(
                    f"cannot set up {name}: {part!r} and {seen!r} are one entity on Service Bus, "
                    "which compares names case-insensitively; use one spelling"
                )

    async def _filter_replays(self, topic: str, subscription: str) -> None:
        """Give the subscription the replay filter, unless it has rules of someone else's."""
        rules = [rule async for rule in self._admin.list_rules(topic, subscription)]
        wanted = replay_filter(subscription)
        if len(rules) == 1 and _expression(rules[0].filter) == wanted:
            return
        if len(rules) == 1 and rules[0].name == DEFAULT_RULE and _accepts_all(rules[0].filter):
            rule = rules[0]
            rule.filter = SqlRuleFilter(wanted)
            await self._admin.update_rule(topic, subscription, rule)
            return
        logger.warning(
            "subscription %s/%s has rules of its own (%s), kept as they are: replaying dead "
            "letters into topic %s is refused until its only rule is %s with the filter %s",
            topic,
            subscription,
            ", ".join(rule.name for rule in rules) or "none",
            topic,
            DEFAULT_RULE,
            wanted,
        )

    async def require_replay_filters(self, topic: str) -> None:
        """Raise ``ReplayRefusedError`` unless every subscription of ``topic`` filters replays."""
        admin = self._admin
        try:
            unfiltered = []
            async for subscription in admin.list_subscriptions(topic):
                rules = [rule async for rule in admin.list_rules(topic, subscription.name)]
                wanted = replay_filter(subscription.name)
                if len(rules) != 1 or _expression(rules[0].filter) != wanted:
                    unfiltered.append(subscription.name)
        except ResourceNotFoundError:
            raise QueueNotFoundError(f"no topic named {topic}") from None
        except HttpResponseError as error:
            if not _unauthorized(error):
                raise
            if self._trust_filters:
                logger.info(
                    "replaying into topic %s trusting its subscriptions' replay filters (they "
                    "cannot be read without Manage)",
                    topic,
                )
                return
            raise ReplayRefusedError(
                f"cannot check the rules of topic {topic}'s subscriptions without the Manage "
                f"right (HTTP {error.status_code}): a replay needs every subscription to filter "
                "replays meant for others, or they would all get a duplicate. If the deployment "
                "gave them the filter (infra/bicep does), set replay_filters='trust' "
                "(BEEHIVE_SERVICEBUS_REPLAY_FILTERS=trust)"
            ) from None
        if unfiltered:
            raise ReplayRefusedError(
                f"subscriptions {', '.join(sorted(unfiltered))} of topic {topic} lack the replay "
                f"filter, so a replay sent to the topic would reach them too: set them up with "
                f"beehive (with the Manage right), or make their only rule {DEFAULT_RULE} with "
                f"the SQL filter {replay_filter('<subscription>')}"
            )

    async def _ensure(self, what: str, get: Any, create: Any) -> Any:
        """The entity's properties, creating it if missing (a concurrent creation is fine).

        A conflict with an entity of another kind at that path is ``QueueConflictError``.
        """
        try:
            return await get()
        except ResourceNotFoundError:
            pass
        try:
            return await create()
        except HttpResponseError as error:
            if error.status_code != 409:
                raise
        try:
            return await get()
        except ResourceNotFoundError:
            raise QueueConflictError(
                f"cannot create {what}: an entity of another kind has that name"
            ) from None

    async def _require_existing(
        self, name: QueueName, settings: QueueSettings, error: HttpResponseError
    ) -> None:
        missing = []
        if not name.is_topic and not await self._receivable(name):
            missing.append(_path(name))
        topic_in_doubt = name.is_topic or (missing and name.kind is not QueueKind.QUEUE)
        if topic_in_doubt and not await self._sendable(name.topic):
            missing.append(f"topic {name.topic}")
        if missing:
            raise QueueNotFoundError(
                f"cannot set up {name}: missing {' and '.join(missing)}. This credential may "
                f"not manage entities (HTTP {error.status_code}), so create them ahead "
                f"(max delivery count {settings.max_deliveries}, lock duration "
                f"{lock_duration(settings)}, sessions {settings.sessions}) or grant it Manage"
            )
        logger.info("%s exists (checked without Manage rights)", name)

    async def _receivable(self, name: QueueName) -> bool:
        """Whether the subscription or queue exists, by peeking at its dead letters (Listen)."""
        if name.subscription is None:
            receiver = self._client.get_queue_receiver(
                name.topic, sub_queue=ServiceBusSubQueue.DEAD_LETTER
            )
        else:
            receiver = self._client.get_subscription_receiver(
                name.topic, name.subscription, sub_queue=ServiceBusSubQueue.DEAD_LETTER
            )
        try:
            async with receiver:
                await receiver.peek_messages(1)
        except MessagingEntityNotFoundError:
            return False
        return True

    async def _sendable(self, topic: str) -> bool:
        sender = self._client.get_topic_sender(topic)
        try:
            async with sender:
                return True
        except MessagingEntityNotFoundError:
            return False

    async def exists(self, name: QueueName) -> bool:
        admin = self._admin
        topic, subscription = name.topic, name.subscription
        try:
            if subscription is not None:
                await admin.get_subscription(topic, subscription)
            elif name.is_topic:
                await admin.get_topic(topic)
            else:
                await admin.get_queue(topic)
        except ResourceNotFoundError:
            return False
        except HttpResponseError as error:
            if not _unauthorized(error):
                raise
            return await (self._sendable(topic) if name.is_topic else self._receivable(name))
        return True

    async def delete(self, name: QueueName) -> None:
        admin = self._admin
        topic, subscription = name.topic, name.subscription
        try:
            if subscription is not None:
                await admin.delete_subscription(topic, subscription)
            elif topic in self._topics or name.is_topic:
                await admin.delete_topic(topic)
            else:
                await admin.delete_queue(topic)
        except ResourceNotFoundError:
            pass
        for known in list(self._sessions):
            if known == name or (subscription is None and known.topic == topic):
                del self._sessions[known]
        if subscription is None:
            self._topics.discard(topic)

    async def requires_session(self, name: QueueName) -> bool:
        """Whether ``name`` is a session entity; ``QueueNotFoundError`` if it does not exist."""
        if name.is_topic:
            raise QueueNotFoundError(f"{name} is a topic: lease from one of its subscriptions")
        known = self._sessions.get(name)
        if known is not None:
            return known
        admin, topic, subscription = self._admin, name.topic, name.subscription
        try:
            found = await (
                admin.get_queue(topic)
                if subscription is None
                else admin.get_subscription(topic, subscription)
            )
        except ResourceNotFoundError:
            raise QueueNotFoundError(
                f"no subscription or queue named {name}; call setup_queue"
            ) from None
        except HttpResponseError as error:
            if not _unauthorized(error):
                raise
            return False  # cannot tell without Manage: setup_queue records it
        self._sessions[name] = bool(found.requires_session)
        return self._sessions[name]

    async def runtime(
        self, name: QueueName
    ) -> QueueRuntimeProperties | SubscriptionRuntimeProperties:
        """The message counts of the subscription or queue ``name`` (needs Manage)."""
        admin, topic, subscription = self._admin, name.topic, name.subscription
        try:
            if subscription is None:
                return await self._retry(
                    f"counting the messages of {name}",
                    lambda: admin.get_queue_runtime_properties(topic),
                )
            return await self._retry(
                f"counting the messages of {name}",
                lambda: admin.get_subscription_runtime_properties(topic, subscription),
            )
        except ResourceNotFoundError:
            raise QueueNotFoundError(f"no subscription or queue named {name}") from None

    def forget(self, name: QueueName) -> None:
        self._sessions.pop(name, None)

    async def open_sender(self, destination: str) -> ServiceBusSender | None:
        """An open sender to the topic or queue ``destination``, or None if there is neither.

        Service Bus addresses both by path, so a topic sender reaches a queue of that name too.
        """
        sender = self._client.get_topic_sender(destination)
        try:
            await self._retry(f"opening a sender to {destination}", sender.__aenter__, TRANSIENT)
        except MessagingEntityNotFoundError:
            await sender.close()
            return None
        except BaseException:
            await sender.close()
            raise
        return sender

    async def close(self) -> None:
        await self._admin.close()


def _expression(rule_filter: object) -> str | None:
    if isinstance(rule_filter, SqlRuleFilter) and not isinstance(rule_filter, TrueRuleFilter):
        return rule_filter.sql_expression
    return None


def _accepts_all(rule_filter: object) -> bool:
    """A TrueFilter (the default rule), also as the service may report it: SQL ``1=1``."""
    if isinstance(rule_filter, TrueRuleFilter):
        return True
    return isinstance(rule_filter, SqlRuleFilter) and (
        (rule_filter.sql_expression or "").replace(" ", "") == "1=1"
    )
