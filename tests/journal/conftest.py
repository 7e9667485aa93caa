"""The store backends the journal runs on: the store contract suites' own (memory, Azurite)."""

from tests.stores.conftest import backend  # noqa: F401 - the parametrised fixture
