"""Fixtures for the whole suite."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests import azurite as emulator
from tests.azurite import azurite  # noqa: F401 - the session fixture, for any test
from tests.moto import moto  # noqa: F401 - the session fixture, for any test
from tests.postgres import postgres  # noqa: F401 - the session fixture, for any test


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for crash in emulator.CRASHES:
        terminalreporter.write_sep("=", "Azurite died mid-session and was started again")
        terminalreporter.write_line(crash)


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """Commands under test configure logging for a process (``beehive run``, Prismo's
    ``--trace``); undo it, so no handler outlives the captured stream it writes to."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
