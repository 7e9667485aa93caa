"""State stores on Azure Storage: collections, keyed lists and counters in Table storage,
blobs and locks in Blob storage (the ``azure`` extra: ``pip install 'beehive-actors[azure]'``).

Build each from a connection string, or from the account's URL and a credential
(``DefaultAzureCredential`` when none is given, so a managed identity in production; nothing
connects until the first operation)::

    orders = AzureCollectionStore.from_connection_string(connection_string, Order)
    parked = AzureKeyedListStore("https://acct.table.core.windows.net", ParkedOrderItem)
    blobs = AzureKeyValueStore("https://acct.blob.core.windows.net", container="claims")

Close them with ``await store.close()``, or use them as ``async with`` blocks. Tables and
containers are created on the first write that needs them, so a store needs no more than the
*Storage Table Data Contributor* or *Storage Blob Data Contributor* role. Names follow beehive's
one rule (any ``str`` of 1 to 255 characters), escaped where Azure forbids characters.

Limits: an entity's JSON may be up to 704 KiB (a larger one is refused with a ``ValueError``);
counters are signed 64-bit integers; a lock's expiry, for ttls shorter than Azure's leases,
relies on the machines' clocks agreeing (see :mod:`beehive.stores.azure._locks`). The
package's modules ``_records``, ``_counters``, ``_blobs`` and ``_locks`` describe the layouts.
"""

from __future__ import annotations

from beehive.stores.azure._blobs import AzureKeyValueStore
from beehive.stores.azure._common import Credential
from beehive.stores.azure._counters import AzureCounterStore
from beehive.stores.azure._locks import AzureLockStore
from beehive.stores.azure._records import AzureCollectionStore, AzureKeyedListStore

__all__ = [
    "AzureCollectionStore",
    "AzureCounterStore",
    "AzureKeyValueStore",
    "AzureKeyedListStore",
    "AzureLockStore",
    "Credential",
]
