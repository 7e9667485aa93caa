"""beehive's pytest plugin (registered through the ``pytest11`` entry point): the ``hive``
fixture, an :class:`~beehive.testing.ActorHarness` started for each test that asks for it.

The harness runs the actors the ``beehive_actors`` fixture returns (define it in your
``conftest.py``), built from the ``beehive_container`` fixture (None unless you define it).
The ``beehive`` marker passes options to the harness, closest marker first::

    @pytest.mark.beehive(virtual_time=True, raise_errors=False)
    async def test_retries(hive): ...

``virtual_time=True`` is short for ``clock=VirtualClock()``. The fixture is an async fixture
of pytest-asyncio, so it works in its strict and auto modes alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from beehive.testing import ActorHarness, VirtualClock

MARKER = "beehive"

_DEFINE_ACTORS = """the hive fixture runs the actors that a fixture named beehive_actors returns; \
define it in your conftest.py, for example:

    @pytest.fixture
    def beehive_actors():
        return discover("myapp.actors")
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options of the hive fixture's ActorHarness (virtual_time=True, "
        "raise_errors=False, undeclared='log', ...)",
    )


@pytest.fixture
def beehive_actors() -> Any:
    """The actors the ``hive`` fixture runs: override it (``discover("myapp.actors")``)."""
    pytest.fail(_DEFINE_ACTORS, pytrace=False)


@pytest.fixture
def beehive_container() -> Any:
    """The dependency-injector container the ``hive`` fixture builds actors from (None)."""
    return None


def harness_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keyword arguments of the ``beehive`` markers on the test, the closest winning."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        options.update(marker.kwargs)
    if options.pop("virtual_time", False):
        options.setdefault("clock", VirtualClock())
    return options


async def _hive(
    request: pytest.FixtureRequest, beehive_actors: Any, beehive_container: Any
) -> AsyncIterator[ActorHarness]:
    options = harness_options(request)
    async with ActorHarness(beehive_actors, container=beehive_container, **options) as hive:
        yield hive


def _needs_pytest_asyncio() -> Any:
    pytest.fail("the hive fixture needs pytest-asyncio: pip install pytest-asyncio", pytrace=False)


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - only where pytest-asyncio is missing
    hive: Any = pytest.fixture(_needs_pytest_asyncio, name="hive")
else:
    hive = pytest_asyncio.fixture(_hive, name="hive")
