"""While hosts run, the garbage collector collects young objects less often; the process gets
Python's settings back when the last host stops."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from beehive import ActorDescriptor, ActorHost, Event, _gc
from beehive.queues import InMemoryQueueOperator


class Idle:
    async def process(self, event: Event) -> list[Event]:
        return []


def host(**options: bool) -> ActorHost:
    return ActorHost(InMemoryQueueOperator(), [ActorDescriptor(Idle, "Job-Idle")], **options)


@pytest.fixture(autouse=True)
def python_defaults(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Python's settings, and no other host holding the tuning (one another test left
    running would), restored afterwards."""
    saved = gc.get_threshold()
    monkeypatch.setattr(_gc, "_hosts", 0)
    monkeypatch.setattr(_gc, "_tuned", False)
    gc.set_threshold(*_gc.PYTHON_DEFAULTS)
    yield
    gc.set_threshold(*saved)


async def test_a_running_host_tunes_the_collector_and_gives_it_back() -> None:
    async with host():
        assert gc.get_threshold() == (_gc.YOUNG_THRESHOLD, 10, 10)

    assert gc.get_threshold() == _gc.PYTHON_DEFAULTS


async def test_the_last_host_to_stop_gives_it_back() -> None:
    first, second = host(), host()
    await first.start()
    await second.start()
    await first.stop()
    assert gc.get_threshold() == (_gc.YOUNG_THRESHOLD, 10, 10)

    await second.stop()
    assert gc.get_threshold() == _gc.PYTHON_DEFAULTS


async def test_settings_of_the_application_are_left_alone() -> None:
    gc.set_threshold(5_000, 20, 20)
    async with host():
        assert gc.get_threshold() == (5_000, 20, 20)

    assert gc.get_threshold() == (5_000, 20, 20)


async def test_tune_gc_false_leaves_the_collector_alone() -> None:
    async with host(tune_gc=False):
        assert gc.get_threshold() == _gc.PYTHON_DEFAULTS
