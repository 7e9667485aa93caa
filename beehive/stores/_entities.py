"""What stores need to know about entity models: identity, concurrency-awareness, round trips.

An entity is a pydantic model with an ``id: str`` field. It is *concurrency-aware* (BeeHive's
``IConcurrencyAware``) when it also has ``etag`` and ``last_modified`` fields: stores then fill
both on every read and write, and a write that carries a stale ``etag`` is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from beehive._clock import utcnow
from beehive._ids import new_tag
from beehive.errors import ConcurrencyConflictError

EntityT = TypeVar("EntityT", bound=BaseModel)

ETAG: str = "etag"
LAST_MODIFIED: str = "last_modified"
_VERSION_FIELDS = (ETAG, LAST_MODIFIED)
_VERSION_FIELDS_SET = frozenset(_VERSION_FIELDS)
_new = object.__new__
_set = object.__setattr__


def check_entity_type(entity_type: object) -> None:
    """Refuse anything but a pydantic model class with an ``id`` field."""
    if not (isinstance(entity_type, type) and issubclass(entity_type, BaseModel)):
        raise TypeError(f"an entity type must be a pydantic model class, not {entity_type!r}")
    if "id" not in entity_type.model_fields:
        raise TypeError(f"entity type {entity_type.__name__} has no 'id' field")


def is_concurrency_aware(entity_type: type[BaseModel]) -> bool:
    """Whether entities of this type carry ``etag`` and ``last_modified`` for the store to fill."""
    return ETAG in entity_type.model_fields and LAST_MODIFIED in entity_type.model_fields


def new_version() -> tuple[str, datetime]:
    """A fresh etag and modification time for a write."""
    return new_tag(), utcnow()


def conflict(
    store: str, what: str, id: str, expected: str | None, stored: str | None
) -> ConcurrencyConflictError:
    """The error for a conditional write that lost, naming everything needed to debug it."""
    actual = "absent" if stored is None else f"at version {stored!r}"
    wanted = "absent" if expected is None else f"at version {expected!r}"
    return ConcurrencyConflictError(
        f"{what} {id!r} in {store} is {actual}, but the write expected it {wanted}"
    )


@dataclass(frozen=True, slots=True)
class Record:
    """An entity as a store keeps it: serialized, so callers never share objects with the store."""

    id: str
    json: str
    etag: str
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class Codec(Generic[EntityT]):
    """Turns entities of one type into records and back."""

    entity_type: type[EntityT]
    concurrency_aware: bool = field(init=False)
    """Whether the type has ``etag`` and ``last_modified`` (worked out once: every read and
    write asks)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "concurrency_aware", is_concurrency_aware(self.entity_type))

    def id_of(self, entity: EntityT) -> str:
        value: object = getattr(entity, "id", None)
        if not isinstance(value, str):
            raise TypeError(f"{type(entity).__name__}.id must be a str, not {value!r}")
        return value

    def etag_of(self, entity: EntityT) -> str | None:
        """The version a write is conditional on: the entity's etag, if it is aware of one."""
        if not self.concurrency_aware:
            return None
        value: object = getattr(entity, ETAG)
        return value if isinstance(value, str) else None

    def check(self, entity: object) -> EntityT:
        if not isinstance(entity, self.entity_type):
            raise TypeError(f"expected a {self.entity_type.__name__}, got {type(entity).__name__}")
        return entity

    def dump(self, entity: EntityT) -> Record:
        """A new version of ``entity``, ready to store."""
        etag, last_modified = new_version()
        return Record(self.id_of(entity), entity.model_dump_json(), etag, last_modified)

    def load(self, record: Record) -> EntityT:
        """A fresh entity from a record, with the stored version filled in when aware."""
        return self.load_stored(record.json, record.etag, record.last_modified)

    def load_stored(self, json: str, etag: str, last_modified: datetime) -> EntityT:
        """A fresh entity from the parts of a record."""
        entity = self.entity_type.model_validate_json(json)
        if self.concurrency_aware:
            # The entity was just built here and nobody else holds it: set its version in
            # place (frozen models too) rather than copy it whole again.
            entity.__dict__[ETAG] = etag
            entity.__dict__[LAST_MODIFIED] = last_modified
            entity.__pydantic_fields_set__.update(_VERSION_FIELDS)
        return entity

    def written(self, entity: EntityT, record: Record) -> EntityT:
        """What a write of ``entity`` as ``record`` returns: a copy of the entity with the
        stored version, without parsing back the JSON that was just made from it.

        The copy is shallow: it shares nested values with ``entity`` (never with the store,
        which keeps JSON), as ``model_copy`` does; built as pydantic's ``__copy__`` builds one,
        without its generic ``copy.copy`` calls (once per write).
        """
        copy = _new(type(entity))
        values = entity.__dict__.copy()
        fields_set = entity.__pydantic_fields_set__
        if self.concurrency_aware:
            values[ETAG] = record.etag
            values[LAST_MODIFIED] = record.last_modified
            fields_set = fields_set | _VERSION_FIELDS_SET
        else:
            fields_set = set(fields_set)
        extra, private = entity.__pydantic_extra__, entity.__pydantic_private__
        _set(copy, "__dict__", values)
        _set(copy, "__pydantic_fields_set__", fields_set)
        _set(copy, "__pydantic_extra__", None if extra is None else dict(extra))
        if private is not None:
            private = {k: v for k, v in private.items() if v is not PydanticUndefined}
        _set(copy, "__pydantic_private__", private)
        return copy
