"""A lost connection told once: one warning when it goes, one line when it is back.

aio-pika and aiormq log a lost connection from every layer (the reader's traceback, the
remote close, one error per channel's close callback, one warning per failed attempt while
the broker is down): about twenty lines per broker restart. While a link watches its
connections, those records are left to debug logging, and the link says what happened.
"""

from __future__ import annotations

import logging
from typing import Final

logger = logging.getLogger("beehive.queues.rabbitmq")

_NOISE: Final = {
    "aiormq.connection": (
        "Unexpected connection close from remote",
        "Cancelling cause reader exited abnormally",
        "error when creating transport",  # then the link raises, naming the broker
    ),
    "aio_pika.robust_connection": (
        "Connection to %s closed. Reconnecting",
        'Connection attempt to "%s" failed',
        "Reconnect attempt failed",
    ),
    # A robust channel's close callback, run after its connection went.
    "aio_pika.tools": ("Callback %r error",),
}


class _ReconnectNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if logger.isEnabledFor(logging.DEBUG):
            return True
        return not str(record.msg).startswith(_NOISE.get(record.name, ()))


_FILTER: Final = _ReconnectNoise()


def quiet_reconnects() -> None:
    """Leave the clients' own reconnect records to debug logging (idempotent)."""
    for name in _NOISE:
        client = logging.getLogger(name)
        if _FILTER not in client.filters:
            client.addFilter(_FILTER)


class Outage:
    """Whether a link's connections are down, told once per outage."""

    def __init__(self, where: str) -> None:
        self._where = where
        self._lost: set[str] = set()

    def lost(self, connection: str, reason: object) -> None:
        if not self._lost:
            logger.warning(
                "lost the connection to %s (%s); reconnecting, leases taken before are lost",
                self._where,
                reason or "closed by the broker",
            )
        self._lost.add(connection)

    def back(self, connection: str) -> None:
        if connection in self._lost:
            self._lost.discard(connection)
            if not self._lost:
                logger.info("reconnected to %s", self._where)
