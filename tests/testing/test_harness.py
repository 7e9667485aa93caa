"""The harness's record of what happened, and how it fails a test fast."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import BaseModel

from beehive import ActorDescriptor, DeadLetter, Event, QueueName, actor, discover
from beehive.testing import (
    ActorHarness,
    UndeclaredEventError,
    UnexpectedDeadLetterError,
    VirtualClock,
)


class Job(BaseModel):
    n: int


class Done(BaseModel):
    n: int


@actor("Job-Refuse")
class Refuse:
    async def process(self, event: Event) -> list[Event]:
        raise DeadLetter("jobs are refused here")


async def test_dead_letters_and_published_are_both_records_read_without_awaiting() -> None:
    async with ActorHarness(discover(Refuse)) as hive:
        job = Event(Job(n=1))
        await hive.publish(job)
        await hive.wait_idle()  # an actor's own DeadLetter is no failure

        assert [e.id for e in hive.published(Job)] == [job.id]
        (dead,) = hive.dead_letters("Job-Refuse")
        assert dead.id == job.id
        assert "jobs are refused here" in str(dead.properties["dead_letter_reason"])
        assert hive.dead_letters() == [dead]
        assert hive.dead_letters("Job-Other") == []


@actor("Job-Ordered", sessions=True)
class Ordered:
    async def process(self, event: Event) -> list[Event]:
        return []


async def test_a_dead_letter_the_broker_made_fails_the_test() -> None:
    async with ActorHarness(discover(Ordered)) as hive:
        await hive.publish(Event(Job(n=1)))  # no session id, on a session subscription
        with pytest.raises(UnexpectedDeadLetterError, match="SessionIdRequired"):
            await hive.wait_idle()
        assert len(hive.dead_letters("Job-Ordered")) == 1


class Hang:
    async def process(self, event: Event) -> list[Event]:
        await asyncio.sleep(3600)
        return []


async def test_too_many_deliveries_fail_the_test_and_can_be_expected() -> None:
    descriptor = ActorDescriptor(
        Hang, "Job-Hang", parallelism=3, max_deliveries=2, lease_seconds=10, max_lease_seconds=10
    )
    async with ActorHarness([descriptor], clock=VirtualClock()) as hive:
        await hive.publish(Event(Job(n=1)))
        with pytest.raises(UnexpectedDeadLetterError, match="MaxDeliveryCountExceeded"):
            await hive.wait_idle()

    async with ActorHarness([descriptor], clock=VirtualClock(), raise_errors=False) as hive:
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()
        (dead,) = hive.dead_letters()
        assert dead.properties["dead_letter_reason"] == "MaxDeliveryCountExceeded"


@actor("Job-Sloppy", emits=[Done])
class Sloppy:
    async def process(self, event: Event) -> list[Event]:
        return [Event(Done(n=1)), Event(event_type="Audit", body="{}")]


async def test_an_event_missing_from_emits_is_an_error_by_default() -> None:
    async with ActorHarness(discover(Sloppy)) as hive:
        await hive.publish(Event(Job(n=1)))
        with pytest.raises(UndeclaredEventError, match=r"Sloppy@Job-Sloppy returned .* Audit"):
            await hive.wait_idle()


async def test_an_event_missing_from_emits_can_be_logged_or_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="beehive.testing"):
        async with ActorHarness(discover(Sloppy), undeclared="log") as hive:
            await hive.operator.setup_queue(QueueName.topic_of("Audit"))
            await hive.publish(Event(Job(n=1)))
            await hive.wait_idle()
    (record,) = [r for r in caplog.records if r.name == "beehive.testing"]
    assert "emits (Done)" in record.getMessage()
    assert "Audit" in record.getMessage()

    caplog.clear()
    async with ActorHarness(discover(Sloppy), undeclared="ignore") as hive:
        await hive.operator.setup_queue(QueueName.topic_of("Audit"))
        await hive.publish(Event(Job(n=1)))
        await hive.wait_idle()
    assert not [r for r in caplog.records if r.name == "beehive.testing"]
    assert len(hive.published("Audit")) == 1


def test_an_unknown_undeclared_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="'error', 'log' or 'ignore'"):
        ActorHarness(discover(Sloppy), undeclared="warn")  # type: ignore[arg-type]
