"""Entity models and name strategies shared by the store contract suites."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, model_validator

from beehive.stores import MAX_NAME_LENGTH


class Order(BaseModel):
    """A plain entity: last writer wins."""

    id: str
    customer_id: str = "c-1"
    total: float = 0.0
    lines: list[str] = Field(default_factory=list)


class ParkedItem(BaseModel):
    """A concurrency-aware entity: the store fills etag and last_modified."""

    id: str
    product_id: str = "p-1"
    ready: bool = False
    etag: str | None = None
    last_modified: datetime | None = None


class Tally(BaseModel):
    """A concurrency-aware count, for read-modify-write races."""

    id: str
    count: int = 0
    etag: str | None = None
    last_modified: datetime | None = None


class FrozenParkedItem(BaseModel):
    """A concurrency-aware entity that cannot be mutated in place."""

    model_config = ConfigDict(frozen=True)

    id: str
    etag: str | None = None
    last_modified: datetime | None = None


class Counted(BaseModel):
    """Counts how many instances were built, to tell a lazy read from a whole load."""

    built: ClassVar[int] = 0

    id: str

    @model_validator(mode="after")
    def _count(self) -> Counted:
        type(self).built += 1
        return self


# Characters that some backends cannot store raw (Azure Table keys forbid / \ # ? and control
# characters), the escape character, spaces, dots and non-ASCII text.
UNUSUAL = "/\\#?%\x00\x01\t\n\x1f\x7f\x85\x9f .-_~'\"*:é中🐝"

names = st.one_of(
    st.text(alphabet=st.sampled_from(UNUSUAL + "aZ09"), min_size=1, max_size=24),
    st.text(
        alphabet=st.characters(exclude_categories=["Cs"]),
        min_size=1,
        max_size=MAX_NAME_LENGTH,
    ),
    st.sampled_from(["%2F", "%", "a" * MAX_NAME_LENGTH, "🐝" * MAX_NAME_LENGTH, "..", "/"]),
)
"""Legal names (ids, keys, list and counter names, lock resources), unusual ones favoured."""

INVALID_NAMES = ["", "x" * (MAX_NAME_LENGTH + 1), "lone \ud800 surrogate"]


def assert_names_versions(message: str, stored: str | None, expected: str | None) -> None:
    """A conflict's message says the version stored, then the one the write expected (each
    verbatim or quoted, as the backend shows its etags), or ``absent``."""
    actual, found, wanted = message.partition(", but the write expected it ")
    assert found, message
    for said, version in ((actual, stored), (wanted, expected)):
        if version is None:
            assert said.endswith("absent"), message
        else:
            assert said.endswith((f"at version {version}", f"at version {version!r}")), message
