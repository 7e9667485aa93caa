"""The store backends the journal runs on: the store contract suites' own (memory, Azurite)."""

from tests.stores.conftest import (  # noqa: F401 - the parametrised fixture and its backends
    backend,
    pytest_generate_tests,
)
