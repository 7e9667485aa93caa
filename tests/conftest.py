"""Fixtures for the whole suite."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.postgres import postgres  # noqa: F401 - the session fixture, for any test


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """Commands under test configure logging for a process (``beehive run``, Prismo's
    ``--trace``); undo it, so no handler outlives the captured stream it writes to."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
