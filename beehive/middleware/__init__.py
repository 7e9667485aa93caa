"""Middleware: the concerns the host runs around each message (see :mod:`.base`).

Built in: :class:`Statistics` (every host), :class:`Idempotency` (``inbox=``),
:class:`Journaling` (``journal=``), :class:`CrashInjection` (tests), and
``beehive.tracing.Tracing`` (``tracing=``, the ``otel`` extra; imported from
:mod:`beehive.tracing` so that nothing here needs OpenTelemetry). Write your own by
subclassing :class:`Middleware`, and pass it as ``ActorHost(..., middleware=[...])``.
"""

from beehive.middleware.base import Handle, Message, Middleware, Outcome, Process, Publish
from beehive.middleware.faults import CrashInjection
from beehive.middleware.inbox import Idempotency
from beehive.middleware.journal import Journaling
from beehive.middleware.statistics import Statistics

__all__ = [
    # the contract
    "Handle",
    "Message",
    "Middleware",
    "Outcome",
    "Process",
    "Publish",
    # built in
    "CrashInjection",
    "Idempotency",
    "Journaling",
    "Statistics",
]
