"""The garbage collector's settings while hosts run.

A host's work allocates many short-lived objects (events, leases, coroutines) and holds many
long-lived ones (queued events, actors, stores). With Python's defaults the youngest
generation is collected every 700 allocations, and what survives (every queued event does) is
scanned again and again as it ages: Prismo's cost per order grew with the number of orders in
flight, and untuned it costs 15-20% more per order.

So while at least one host runs, the youngest generation is collected every
:data:`YOUNG_THRESHOLD` allocations; when the last host stops, the process gets Python's
settings back. A process that set its own thresholds (or disabled the collector) is left
alone, and ``ActorHost(..., tune_gc=False)`` opts out.

``gc.freeze()`` at start-up (the other classic tuning) is not used: a host stopped and started
again would freeze, each time, the cyclic garbage the collector had not reached yet, and the
soak test's hundred stop/start cycles grew the process by twice as much.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 10_000
"""Allocations between two collections of the youngest generation (Python's default: 700)."""

PYTHON_DEFAULTS: Final = (700, 10, 10)

_hosts = 0
_tuned = False


def hold() -> None:
    """A host starts: tune the collector if it is the first and the settings are Python's."""
    global _hosts, _tuned
    _hosts += 1
    if _hosts == 1 and gc.isenabled() and gc.get_threshold() == PYTHON_DEFAULTS:
        gc.set_threshold(YOUNG_THRESHOLD, *PYTHON_DEFAULTS[1:])
        _tuned = True


def release() -> None:
    """A host stopped: the last one gives the process Python's settings back."""
    global _hosts, _tuned
    _hosts = max(0, _hosts - 1)
    if _hosts == 0 and _tuned:
        _tuned = False
        # Unless the application changed them meanwhile: then they are its own.
        if gc.get_threshold() == (YOUNG_THRESHOLD, *PYTHON_DEFAULTS[1:]):
            gc.set_threshold(*PYTHON_DEFAULTS)
