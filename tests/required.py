"""Tests that need a service or a tool this machine may lack: skipped where it is missing,
failed under CI (``CI`` set), where every test must run."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip the calling test for ``reason``, or fail it when CI is set."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this test must run)")
    pytest.skip(reason)
