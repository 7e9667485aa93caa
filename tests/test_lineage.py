"""Event ids derived from their cause: an event handled again makes the very same events.

A message whose events went out but whose completion did not (a crash, a lost lease, a
duplicate from the broker) is handled again; the events the actor makes then must be the ones
it made the first time, so that idempotent actors downstream recognise them.
"""

from __future__ import annotations

from pydantic import BaseModel

from beehive import ActorDescriptor, Event, actor, discover
from beehive.testing import ActorHarness


class Job(BaseModel):
    n: int


class Part(BaseModel):
    n: int


class Audit(BaseModel):
    n: int


made: list[Event] = []


class Splitter:
    """Makes two parts and an audit per job, and one event it names itself."""

    async def process(self, event: Event) -> list[Event]:
        n = event.body_as(Job).n
        events = [
            Event(Part(n=n)),
            Event(Audit(n=n)),
            Event(Part(n=n + 1)),
            Event(Audit(n=n), id=f"audit-{n}"),
        ]
        made.extend(events)
        return events


@actor("Job-Mirror", emits=[Part, Audit])
class Mirror(Splitter):
    """A second subscription to the same topic, making the same events."""


SPLITTER = ActorDescriptor(Splitter, "Job-Split", emits=("Part", "Audit"))


async def test_an_event_handled_again_makes_the_same_events_with_the_same_ids() -> None:
    made.clear()
    job = Event(Job(n=1))
    async with ActorHarness([SPLITTER]) as hive:
        await hive.publish(job)
        await hive.wait_idle()
        await hive.publish(job)  # the same event again, as a redelivery brings it
        await hive.wait_idle()

    first, again = made[:4], made[4:]
    assert [e.id for e in again] == [e.id for e in first]
    assert [e.id for e in hive.published(Part)] == [
        e.id for e in first if e.event_type == "Part"
    ] * 2
    # What the actor sees on the events it made is what is published.
    assert {e.id for e in hive.published()} >= {e.id for e in first}


async def test_ids_differ_by_cause_actor_type_and_count_and_an_id_given_is_kept() -> None:
    made.clear()
    async with ActorHarness([SPLITTER, *discover(Mirror)]) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.publish(Event(Job(n=1)))  # another event with the same content
        await hive.wait_idle()

    derived = [e.id for e in made if not e.id.startswith("audit-")]
    assert len(derived) == len(set(derived)) == 2 * 2 * 3  # two jobs, two actors, three each
    assert {e.id for e in made if e.id.startswith("audit-")} == {"audit-1"}


def test_outside_a_handling_every_event_gets_a_new_id() -> None:
    assert Event(Part(n=1)).id != Event(Part(n=1)).id
