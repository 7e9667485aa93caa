"""beehive: reactive cloud actors, an evolvable web of events.

A port of BeeHive: small actor classes turn events into events; a host leases them from topic
subscriptions, builds the actors with their dependencies, publishes what they return, and
completes, retries or dead-letters each message.
"""

from beehive.actors import ActorDescriptor, ProcessorActor, actor, discover
from beehive.backoff import Backoff
from beehive.claims import Claims
from beehive.config import apply_overrides, overrides_from_env, overrides_from_toml
from beehive.contract import ExternalEvents
from beehive.errors import (
    ActorConfigurationError,
    BadEventBody,
    BeeHiveError,
    BrokerError,
    BrokerLimitError,
    BrokerUnavailableError,
    ClaimHeldError,
    DeadLetter,
    EventTooLargeError,
    EventVersionError,
    LeaseLostError,
    LockLostError,
    QueueConflictError,
    QueueNotFoundError,
    ReplayRefusedError,
    Retry,
)
from beehive.events import Event
from beehive.host import ActorHost
from beehive.inbox import Inbox, InboxRecord, republish
from beehive.journal import Journal, JournalEntry
from beehive.middleware import Message, Middleware, Outcome
from beehive.names import QueueName
from beehive.stats import ActorStats
from beehive.versions import Upcasters, event_version

__all__ = [
    # events
    "Event",
    "QueueName",
    "Upcasters",
    "event_version",
    # actors
    "ActorDescriptor",
    "ProcessorActor",
    "actor",
    "discover",
    "ExternalEvents",
    # configuration
    "apply_overrides",
    "overrides_from_env",
    "overrides_from_toml",
    # hosting
    "ActorHost",
    "ActorStats",
    "Backoff",
    "Claims",
    "Inbox",
    "InboxRecord",
    "Journal",
    "JournalEntry",
    "republish",
    # the pipeline
    "Message",
    "Middleware",
    "Outcome",
    # errors
    "ActorConfigurationError",
    "BadEventBody",
    "BeeHiveError",
    "BrokerError",
    "BrokerLimitError",
    "BrokerUnavailableError",
    "ClaimHeldError",
    "DeadLetter",
    "EventTooLargeError",
    "EventVersionError",
    "LeaseLostError",
    "LockLostError",
    "QueueConflictError",
    "QueueNotFoundError",
    "ReplayRefusedError",
    "Retry",
]
