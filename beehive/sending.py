"""Sending events from outside the actors (BeeHive's Pusher): ``beehive send`` and the host's
``POST /api/send`` route build them here, validated against the event's model when known."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from beehive.actors import ActorDescriptor
from beehive.errors import BadEventBody
from beehive.events import Event, PropertyValue
from beehive.names import QueueName
from beehive.versions import VERSION_PROPERTY, declared_version

MAX_COUNT = 10_000
MAX_DELAY = 365 * 24 * 3600
"""Seconds a send may delay its events at most (a year)."""


class Outgoing(BaseModel):
    """What one send asks for: ``count`` events of ``event_type`` with ``body`` (a JSON value).

    ``delay`` (seconds, at most a year) schedules them; ``properties``, ``session_id`` and
    ``correlation_id`` go on every one of them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: str = Field(min_length=1)
    body: Any = Field(default_factory=dict)
    properties: dict[str, PropertyValue] = Field(default_factory=dict)
    session_id: str | None = None
    correlation_id: str | None = None
    count: int = Field(default=1, ge=1, le=MAX_COUNT)
    delay: float = Field(default=0.0, ge=0.0, le=MAX_DELAY, allow_inf_nan=False)

    @field_validator("event_type")
    @classmethod
    def _a_topic(cls, event_type: str) -> str:
        QueueName.topic_of(event_type)  # raises ValueError naming the rule
        return event_type

    def events(self, models: Mapping[str, type[BaseModel]]) -> list[Event]:
        """The events to push; raises BadEventBody when the body fails the event's model."""
        model = models.get(self.event_type)
        properties = self.properties
        if model is not None:
            if (version := declared_version(model)) is not None:
                properties = {VERSION_PROPERTY: version, **properties}
            try:
                body = model.model_validate(self.body).model_dump_json()
            except ValidationError as error:
                raise BadEventBody(
                    f"the body does not validate as {model.__name__}: {problems(error)}"
                ) from None
        else:
            body = json.dumps(self.body)
        due = datetime.now(UTC) + timedelta(seconds=self.delay) if self.delay else None
        return [
            Event(
                event_type=self.event_type,
                body=body,
                properties=properties,
                session_id=self.session_id,
                correlation_id=self.correlation_id,
                enqueue_time=due,
            )
            for _ in range(self.count)
        ]


def problems(error: ValidationError) -> str:
    """A validation error in one line: ``field: message`` for each problem."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors()
    )


def event_models(
    sources: Iterable[ActorDescriptor | ModuleType],
) -> dict[str, type[BaseModel]]:
    """Event models by event type: the pydantic models that the modules, or the modules of the
    actors, define or import.

    A topic is named after its model's class, so the model of ``OrderPlaced`` is the class
    ``OrderPlaced`` that the actors reading or emitting it use.
    """
    models: dict[str, type[BaseModel]] = {}
    for source in sources:
        module = (
            source
            if isinstance(source, ModuleType)
            else sys.modules.get(source.actor_type.__module__)
        )
        for value in vars(module).values() if module is not None else ():
            if isinstance(value, type) and issubclass(value, BaseModel) and value is not Event:
                models.setdefault(value.__name__, value)
    return models
