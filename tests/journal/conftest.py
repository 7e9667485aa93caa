"""The store backends the journal runs on: the store contract suites' own (memory, Azurite)."""

from tests.azurite import azurite  # noqa: F401 - the session fixture, for AzureBackend
from tests.stores.conftest import backend  # noqa: F401 - the parametrised fixture
