"""What can go wrong in a simulated run, how often, and which faults one run injected.

Every decision is a draw that depends only on the run's seed and on *where* it is taken (the
kind of fault, the step, the subscription, the event, the delivery), never on the order in
which decisions are taken. Events are named by what they are, not by their id (see
:class:`EventNames`), since taking a fault out of a run changes the ids of what follows it. So
taking one fault out of a run (to shrink it) leaves every other decision as it was, as far as
the run still reaches it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Literal, get_args

from beehive.events import Event

__all__ = ["Chance", "EventNames", "Fault", "FaultKind", "Faults", "Plan"]

FaultKind = Literal[
    "abandon",
    "lease_expiry",
    "duplicate",
    "crash_after_process",
    "crash_after_store_write",
    "crash_after_publish",
    "crash_before_complete",
    "store_failure",
    "publish_failure",
]
"""The faults a simulation injects:

- ``abandon``: leased, then given back at once, unprocessed (a consumer that lets go);
- ``lease_expiry``: the message's lock runs out as soon as it is leased, so another worker gets
  a second copy while the first still works on it;
- ``duplicate``: the completion's acknowledgement is lost: the message is delivered again;
- ``crash_after_process``, ``crash_after_store_write``, ``crash_after_publish``,
  ``crash_before_complete``: the host dies at that step of the message's handling; nothing
  after it happens, and the broker delivers the message again once its lease runs out;
- ``store_failure``: one store call fails for a moment (nothing read or written);
- ``publish_failure``: publishing the actor's events fails (nothing sent).
"""

KINDS: tuple[str, ...] = get_args(FaultKind)


@dataclass(frozen=True, slots=True, order=True)
class Fault:
    """One fault a run injected: its kind, in which subscription or queue, on which event
    (named as :class:`EventNames` names it) and which delivery of it, and where (``detail``:
    the store call or publish, for those faults). ``event_id`` is the id the event had in that
    run, for reading; it is not part of what identifies the fault.

    Its ``repr`` is the code that builds it, so a report's faults can be pasted into a replay.
    """

    kind: FaultKind
    source: str
    event: str
    delivery: int
    detail: str = ""
    event_id: str = field(default="", compare=False)

    def __repr__(self) -> str:
        detail = f", {self.detail!r}" if self.detail else ""
        return f"Fault({self.kind!r}, {self.source!r}, {self.event!r}, {self.delivery}{detail})"

    def describe(self) -> str:
        """One line for a report: what happened, where, to which event."""
        what = self.kind.replace("_", " ")
        if self.detail:
            what += f" ({self.detail})"
        event = f"{self.event} ({self.event_id})" if self.event_id else self.event
        return f"{what}: {self.source}, {event}, delivery {self.delivery}"


class EventNames:
    """Names for a run's events that survive a change of ids: type, rank, correlation.

    ``"OrderShipped 1 of order-00002"`` is the first ``OrderShipped`` event of correlation
    ``order-00002`` this run saw (``"OrderPlaced 3"`` without a correlation). An event's id
    depends on the delivery that made it, so removing a fault upstream renames every id
    downstream; its name stays the same as long as the run takes the same path.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._seen: Counter[tuple[str, str]] = Counter()

    def __call__(self, event: Event) -> str:
        name = self._names.get(event.id)
        if name is None:
            correlation = event.correlation_id or ""
            self._seen[event.event_type, correlation] += 1
            rank = self._seen[event.event_type, correlation]
            name = f"{event.event_type} {rank}" + (f" of {correlation}" if correlation else "")
            self._names[event.id] = name
        return name


@dataclass(frozen=True, slots=True)
class Faults:
    """How often each fault is injected: a probability at each chance to inject it.

    ``abandon``, ``lease_expiry`` and ``crash`` are chances per delivery (``crash`` is the rate
    of each of the host's three steps: after process, after publish, before complete);
    ``duplicate`` per completion; ``store_crash`` (a crash right after a store write) per
    write; ``store_failure`` per store call; ``publish_failure`` per publish. Faults hit only a
    message's first ``up_to_delivery`` deliveries, so that every message can end well and a run
    always reaches idle (unless the actors themselves loop).
    """

    abandon: float = 0.01
    lease_expiry: float = 0.01
    duplicate: float = 0.02
    crash: float = 0.01
    store_crash: float = 0.005
    store_failure: float = 0.005
    publish_failure: float = 0.01
    up_to_delivery: int = 3

    def __post_init__(self) -> None:
        for each in fields(self):
            value = getattr(self, each.name)
            if each.name == "up_to_delivery":
                if not isinstance(value, int) or value < 0:
                    raise ValueError(f"up_to_delivery must be an int of at least 0, got {value!r}")
            elif not 0.0 <= value <= 1.0:
                raise ValueError(f"{each.name} is a probability between 0 and 1, got {value!r}")

    @classmethod
    def none(cls) -> Faults:
        """No fault at all: only the order of deliveries and store calls varies by seed."""
        return cls(
            abandon=0.0,
            lease_expiry=0.0,
            duplicate=0.0,
            crash=0.0,
            store_crash=0.0,
            store_failure=0.0,
            publish_failure=0.0,
        )

    def rate(self, kind: FaultKind) -> float:
        if kind == "crash_after_store_write":
            return self.store_crash
        if kind.startswith("crash_"):
            return self.crash
        rate: float = getattr(self, kind)
        return rate


class Chance:
    """Numbers in [0, 1) that depend only on the seed and a key (BLAKE2b of both)."""

    __slots__ = ("_seed",)

    def __init__(self, seed: int) -> None:
        self._seed = f"{seed}\x1f".encode()

    def __call__(self, *key: object) -> float:
        text = "\x1f".join(map(str, key)).encode()
        digest = hashlib.blake2b(self._seed + text, digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2.0**64


class Plan:
    """Decides every fault of one run and records those injected, in order.

    With ``only``, exactly the faults in it are injected (where the run reaches them): a replay,
    or a step of shrinking. Otherwise each is drawn at its rate.
    """

    def __init__(self, chance: Chance, faults: Faults, only: frozenset[Fault] | None) -> None:
        self.chance = chance
        self.names = EventNames()
        self.faults = faults
        self.only = only
        self.injected: list[Fault] = []

    def decide(
        self,
        kind: FaultKind,
        source: str,
        event: str,
        delivery: int,
        detail: str = "",
        *,
        event_id: str = "",
    ) -> bool:
        """Whether to inject ``kind`` here (``event`` is the event's name, ``event_id`` its id
        in this run, for the record)."""
        if delivery > self.faults.up_to_delivery:
            return False
        if self.only is None:
            rate = self.faults.rate(kind)
            if not rate or self.chance("fault", kind, source, event, delivery, detail) >= rate:
                return False
            fault = Fault(kind, source, event, delivery, detail, event_id)
        else:
            fault = Fault(kind, source, event, delivery, detail, event_id)
            if fault not in self.only:
                return False
        self.injected.append(fault)
        return True
