"""The garbage collector's settings while hosts run.

A host's work allocates many short-lived objects (events, leases, coroutines) and holds many
long-lived ones (modules, actors, stores, queued events). With Python's defaults the young
generation is collected every 700 allocations and the old ones are rescanned as the live heap
grows, although a running host makes almost no reference cycles to find: on the in-memory
broker that was about a tenth of a hop's cost, and Prismo's cost per order grew with the
number of orders in flight.

So while at least one host runs, what was alive when the first one started (imports, actors,
topology, seeded stores) is frozen out of the collector's scans (``gc.freeze()``), and the
young generation is collected every :data:`YOUNG_THRESHOLD` allocations. When the last host
stops, the process gets its own settings back and the frozen objects are collected as usual
again. A process that set its own thresholds (or disabled the collector) is left alone, and
``ActorHost(..., tune_gc=False)`` opts out.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""

PYTHON_DEFAULTS: Final = (700, 10, 10)

_hosts = 0
_saved: tuple[int, int, int] | None = None


def hold() -> None:
    """A host starts: tune the collector if it is the first and the settings are Python's."""
    global _hosts, _saved
    _hosts += 1
    if _hosts == 1 and gc.isenabled() and gc.get_threshold() == PYTHON_DEFAULTS:
        _saved = PYTHON_DEFAULTS
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, *PYTHON_DEFAULTS[1:])


def release() -> None:
    """A host stopped: the last one gives the process its settings back."""
    global _hosts, _saved
    _hosts = max(0, _hosts - 1)
    if _hosts == 0 and _saved is not None:
        # Unless the application changed them meanwhile: then they are its own.
        if gc.get_threshold() == (YOUNG_THRESHOLD, *_saved[1:]):
            gc.set_threshold(*_saved)
        gc.unfreeze()
        _saved = None
