"""The stores the actors receive, by constructor parameter name.

``deployed`` builds them in the storage account infra/bicep gives every container app:
collections in Table storage (``BEEHIVE_STORAGE_TABLE_ENDPOINT``), key-values in Blob storage
(``BEEHIVE_STORAGE_BLOB_ENDPOINT``), both reached as the app's managed identity
(``AZURE_CLIENT_ID``). Nothing connects before the first message.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from dependency_injector import containers, providers

from beehive.stores import CollectionStore, KeyValueStore
from shop.events import Order

if TYPE_CHECKING:  # the azure extra is imported only when deployed() runs
    from beehive.stores.azure import AzureCollectionStore, AzureKeyValueStore


class ShopContainer(containers.DeclarativeContainer):
    orders = providers.Dependency(instance_of=CollectionStore)
    receipts = providers.Dependency(instance_of=KeyValueStore)


def deployed() -> ShopContainer:
    """The container of a deployed host: ``beehive run --container shop.container:deployed``."""
    from beehive.stores.azure import AzureCollectionStore, AzureKeyValueStore

    orders = AzureCollectionStore(
        os.environ["BEEHIVE_STORAGE_TABLE_ENDPOINT"], Order, table_prefix="shop"
    )
    receipts = AzureKeyValueStore(os.environ["BEEHIVE_STORAGE_BLOB_ENDPOINT"], container="shop")
    container = ShopContainer(orders=providers.Object(orders), receipts=providers.Object(receipts))
    container.clients = providers.Resource(_closed_at_shutdown, orders, receipts)
    return container


async def _closed_at_shutdown(
    orders: AzureCollectionStore[Order], receipts: AzureKeyValueStore
) -> AsyncIterator[None]:
    yield
    await orders.close()
    await receipts.close()
