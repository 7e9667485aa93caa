"""The web of actors: every topic is traced, and no subscription listens to a topic nobody
publishes (the original's ``FrauCheckFailed`` typo would fail here)."""

from __future__ import annotations

from beehive import discover
from samples.prismo.events import EVENTS, OrderAccepted

ACTORS = discover("samples.prismo.actors")
BUSINESS = [d for d in ACTORS if d.actor_type.__name__ != "TracingActor"]


def test_the_tracing_actor_reads_every_topic() -> None:
    traced = {d.queue.topic for d in ACTORS if d.actor_type.__name__ == "TracingActor"}
    assert traced == {event.__name__ for event in EVENTS}


def test_every_subscription_reads_a_topic_that_is_published() -> None:
    published = {topic for d in ACTORS for topic in d.emits} | {OrderAccepted.__name__}
    unpublished = {d.source for d in BUSINESS if d.queue.topic not in published}
    assert unpublished == set()


def test_every_published_topic_has_a_business_subscriber() -> None:
    read = {d.queue.topic for d in BUSINESS}
    published = {topic for d in ACTORS for topic in d.emits}
    assert published - read == set()
    assert {event.__name__ for event in EVENTS} - read == set()


def test_subscription_names_are_unique() -> None:
    sources = [d.source for d in ACTORS]
    assert len(sources) == len(set(sources))
