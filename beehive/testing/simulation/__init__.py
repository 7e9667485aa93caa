"""Simulation testing: find the interleavings and failures that break an actor network.

A :class:`Simulation` runs the actors many times, one seeded run after another, each in
virtual time in one process, and checks invariants (plain functions of what a run left
behind) once each run is idle. The seed decides everything that can vary:

- the order of deliveries: each copy of an event becomes visible after a seeded delay, so ready
  messages are delivered in an order the seed picks (a session's messages keep theirs);
- how handlings interleave: every store call waits a seeded latency, so concurrent actors can
  cut in between a read and a write;
- the faults (:class:`Faults`): abandoned messages, lease expiries that hand a second copy to
  another worker, duplicate deliveries, the host crashing after the actor ran, after a store
  write, after publishing or before completing (the message comes back when its lease runs
  out), transient store failures, failed publishes;
- event ids, and Python's global ``random``.

A failing run is reported with its seed, the broken invariant, the journal's view of the
journeys its problems name, and the fewest faults that still break it (shrunk by delta
debugging); :meth:`Simulation.replay` runs it again, the same to the last message.
"""

from beehive.testing.simulation._end import End, Invariant, Violation
from beehive.testing.simulation._faults import Fault, FaultKind, Faults
from beehive.testing.simulation._report import Failure, SimulationReport
from beehive.testing.simulation._run import Run, RunResult
from beehive.testing.simulation._simulation import Simulation

__all__ = [
    "End",
    "Failure",
    "Fault",
    "FaultKind",
    "Faults",
    "Invariant",
    "Run",
    "RunResult",
    "Simulation",
    "SimulationReport",
    "Violation",
]
