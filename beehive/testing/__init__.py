"""Test support: run actors on the in-memory broker, publish, wait until idle, inspect.

::

    async with ActorHarness(discover("myapp.actors"), container=Container()) as hive:
        await hive.publish(Event(OrderAccepted(order_id="o-1")))
        await hive.wait_idle()
        assert hive.published_bodies(PaymentAuthorised)[0].order_id == "o-1"

With ``clock=VirtualClock()`` the harness runs in simulated time (``await hive.advance(
minutes=5)``); the ``hive`` pytest fixture (this package's pytest plugin) gives a harness per
test. Fault injection: :class:`FaultyQueueOperator`. Simulation testing (hundreds of seeded
runs under faults, invariants checked when idle, each failure shrunk and replayable):
:class:`Simulation`.
"""

from beehive.errors import SimulationFailed, UndeclaredEventError, UnexpectedDeadLetterError
from beehive.faults import FaultyQueueOperator, SimulatedCrash, SimulatedStoreError
from beehive.middleware.faults import CrashInjection
from beehive.testing._clock import VirtualClock, VirtualClockError
from beehive.testing._harness import FAST_BACKOFF, ActorHarness, RecordingQueueOperator
from beehive.testing.simulation import (
    End,
    Failure,
    Fault,
    Faults,
    Run,
    RunResult,
    Simulation,
    SimulationReport,
)

__all__ = [
    # the harness
    "ActorHarness",
    "FAST_BACKOFF",
    "RecordingQueueOperator",
    "UndeclaredEventError",
    "UnexpectedDeadLetterError",
    # simulated time
    "VirtualClock",
    "VirtualClockError",
    # faults
    "CrashInjection",
    "FaultyQueueOperator",
    "SimulatedCrash",
    "SimulatedStoreError",
    # simulation
    "End",
    "Failure",
    "Fault",
    "Faults",
    "Run",
    "RunResult",
    "Simulation",
    "SimulationFailed",
    "SimulationReport",
]
