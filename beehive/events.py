"""The event: an immutable envelope around one fact that happened."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from beehive import _ids
from beehive._clock import utcnow
from beehive._lineage import HANDLING, derived_id
from beehive.errors import BadEventBody
from beehive.versions import VERSION_PROPERTY, check_version, declared_version

PropertyValue = str | int | float | bool
M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__
_FIELDS_SETS: dict[tuple[str, ...], set[str]] = {}
"""One set of field names per sequence of keywords (a handful in practice: one per call site
shape)."""


class Event(BaseModel):
    """A timestamped, immutable, unique fact, as it travels through queues.

    ``Event(OrderAccepted(order_id="o-1"))`` serialises the model and takes ``event_type`` and
    ``queue_name`` (the topic it is published to) from its class name, and the model's declared
    version (``@event_version``) as its ``event_version`` property; keyword arguments override
    any field. ``Event(event_type="Ping", body="{}")`` builds the envelope directly.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=_ids.new_id, min_length=1)
    timestamp: AwareDatetime = Field(default_factory=utcnow)
    event_type: str = Field(min_length=1)
    queue_name: str = Field(default="", description="destination topic or queue")
    body: str = ""
    content_type: str = "application/json"
    url: str | None = None
    properties: dict[str, PropertyValue] = Field(default_factory=dict)
    enqueue_time: AwareDatetime | None = None
    session_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    delivery_count: int = 0

    def __init__(self, model: BaseModel | None = None, /, **fields: Any) -> None:
        if model is not None:
            if not isinstance(model, BaseModel):
                raise TypeError(
                    f"Event() takes a pydantic model or keywords only, not {type(model).__name__}"
                )
            name = type(model).__name__
            fields = {"event_type": name, "body": model.model_dump_json(), **fields}
            version = declared_version(type(model))
            if version is not None:
                fields["properties"] = {VERSION_PROPERTY: version, **fields.get("properties", {})}
        if not fields.get("queue_name") and "event_type" in fields:
            fields["queue_name"] = fields["event_type"]
        if "id" not in fields and HANDLING.get() is not None:  # inside an actor's handling
            derived = derived_id(fields.get("event_type"))
            if derived is not None:
                fields["id"] = derived
        super().__init__(**fields)
        # Events built with the same keywords share one set of their names (pydantic never
        # mutates it; copies copy it): one object less per event for memory and the collector.
        # The keywords are the set (extra ones are refused), so they are the key.
        key = tuple(fields)
        shared = _FIELDS_SETS.get(key)
        if shared is not None:
            _set(self, "__pydantic_fields_set__", shared)
        elif len(_FIELDS_SETS) < 1024:  # bounded, whatever orders keywords come in
            _FIELDS_SETS[key] = self.__pydantic_fields_set__

    def body_as(self, model: type[M]) -> M:
        """The body validated as ``model``; raises BadEventBody naming what was wrong.

        An event of another version than the model's raises EventVersionError (see
        :mod:`beehive.versions`): the host upgrades older ones first when given upcasters.
        """
        check_version(self, model)
        try:
            return model.model_validate_json(self.body or "null")
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(body)'}: {e['msg']}"
                for e in error.errors()
            )
            raise BadEventBody(
                f"event {self.event_type} {self.id} does not validate as "
                f"{model.__name__}: {problems}"
            ) from None

    def evolve(self, changes: dict[str, Any]) -> Event:
        """A copy with ``changes`` applied, trusted and unvalidated: for the host and operators.

        Built as pydantic's ``model_construct`` builds a model (its slots set, no private
        attributes: an event carries no hidden state), twice as fast as ``model_copy``, which
        matters once per hop.
        """
        copy = _new(type(self))
        values = self.__dict__.copy()
        values.update(changes)
        _set(copy, "__dict__", values)
        # Sharing the set is safe: pydantic never mutates it after construction.
        _set(copy, "__pydantic_fields_set__", self.__pydantic_fields_set__)
        _set(copy, "__pydantic_extra__", None)
        _set(copy, "__pydantic_private__", None)
        return copy
