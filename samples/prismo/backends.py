"""Where a run's messages and state live: a broker and a set of stores, chosen apart.

``--broker memory|rabbitmq|servicebus`` picks the broker (:mod:`samples.prismo.brokers`),
``--stores memory|azure|postgres`` the stores; ``--backend`` names a usual pair:

=========  ==========  ========  =====================================================
backend    broker      stores    for
=========  ==========  ========  =====================================================
memory     memory      memory    the default: everything in this process
rabbitmq   rabbitmq    memory    a real broker, on premises or on this machine
onprem     rabbitmq    postgres  on premises: RabbitMQ and PostgreSQL, nothing in the cloud
azure      servicebus  azure     production's pair (``--broker memory`` with it: Azurite)
=========  ==========  ========  =====================================================

Azure stores live in Table storage (:mod:`samples.prismo.azure_storage`). A run of the sample
writes to tables of its own, ``BEEHIVE_STORAGE_TABLE_PREFIX`` (default ``prismo``) then a run
id, and deletes them at the end, so runs never see each other's orders; a deployed host and
``--publish-only`` share the tables of the prefix itself. PostgreSQL stores do the same with
schemas (:mod:`samples.prismo.postgres_storage`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from beehive.queues.base import QueueOperator
from samples.prismo.azure_storage import AzureAccount, OpenStores
from samples.prismo.brokers import BROKERS, BackendUnavailable, Broker
from samples.prismo.postgres_storage import PostgresDatabase
from samples.prismo.scenario import Scenario
from samples.prismo.stores import Stores

__all__ = [
    "BROKERS",
    "PRESETS",
    "STORES",
    "Backend",
    "BackendUnavailable",
    "open_backend",
]

PRESETS: dict[str, tuple[str, str]] = {
    "memory": ("memory", "memory"),
    "rabbitmq": ("rabbitmq", "memory"),
    "onprem": ("rabbitmq", "postgres"),
    "azure": ("servicebus", "azure"),
}
"""``--backend`` names: (broker, stores)."""


def memory_stores(environ: Mapping[str, str]) -> OpenStores:
    return OpenStores(Stores.in_memory())


def azure_stores(environ: Mapping[str, str]) -> OpenStores:
    return AzureAccount.from_environ(environ).for_one_run()


def postgres_stores(environ: Mapping[str, str]) -> OpenStores:
    return PostgresDatabase.from_environ(environ).for_one_run()


STORES: dict[str, Callable[[Mapping[str, str]], OpenStores]] = {
    "memory": memory_stores,
    "azure": azure_stores,
    "postgres": postgres_stores,
}


@dataclass(frozen=True, slots=True)
class Backend:
    """The broker and stores of one run."""

    broker: Broker
    stores: Stores
    stores_name: str
    discard: Callable[[], Awaitable[None]] | None = None

    @property
    def description(self) -> str:
        """``memory backend``, ``rabbitmq backend``... for the usual pairs, else both halves."""
        pair = (self.broker.name, self.stores_name)
        preset = next((name for name, known in PRESETS.items() if known == pair), None)
        return f"{preset} backend" if preset else f"{pair[0]} broker, {pair[1]} stores"

    @property
    def operator(self) -> QueueOperator:
        return self.broker.operator

    async def wait_idle(self, timeout: float | None) -> None:
        """Return once no message is ready, scheduled or in flight; TimeoutError after the wait.

        Only a broker that can tell (the in-memory one); a run on another waits with
        :func:`samples.prismo.idle.wait_until_over`.
        """
        if self.broker.wait_idle is None:
            raise TypeError(f"the {self.broker.name} broker cannot tell when it is idle")
        await self.broker.wait_idle(timeout)

    async def close(self) -> None:
        """Close the broker and the stores, and delete what the run wrote (its own tables)."""
        try:
            await self.broker.close()
        finally:
            try:
                if self.discard is not None:
                    await self.discard()
            finally:
                await self.stores.close()


def memory(scenario: Scenario) -> Backend:
    """Everything in this process: the embedded broker and the in-memory stores."""
    return open_backend("memory", "memory", {})


def open_backend(broker: str, stores: str, environ: Mapping[str, str]) -> Backend:
    """The broker and stores named, configured from ``environ``.

    Raises ``BackendUnavailable`` (one line saying what to set) when one cannot run here.
    """
    for kind, name, known in (("broker", broker, BROKERS), ("stores", stores, STORES)):
        if name not in known:
            raise BackendUnavailable(f"unknown {kind} {name!r}; choose {', '.join(known)}")
    chosen = BROKERS[broker](environ)  # neither connects yet: a failure leaves nothing open
    opened = STORES[stores](environ)
    return Backend(chosen, opened.stores, stores, opened.discard)
