"""The naming rule and the escaping that lets backends with forbidden characters honour it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beehive.stores._names import (
    MAX_NAME_LENGTH,
    blob_name,
    check_name,
    check_prefix,
    check_table_prefix,
    escape,
    table_key,
    table_name,
    unescape,
)
from tests.stores.entities import INVALID_NAMES, names

AZURE_KEY_FORBIDDEN = re.compile("[/\\\\#?\x00-\x1f\x7f-\x9f]")
AZURE_TABLE_NAME = re.compile("[A-Za-z][A-Za-z0-9]{2,62}")
FAST = settings(max_examples=200, deadline=None)


@pytest.mark.parametrize("name", ["a", "order/42", "a#b?c", "100%", " ", "🐝", "x" * 255])
def test_legal_names_pass_unchanged(name: str) -> None:
    assert check_name("id", name) is name


@pytest.mark.parametrize("bad", INVALID_NAMES)
def test_illegal_names_are_refused_saying_what_is_allowed(bad: str) -> None:
    with pytest.raises(ValueError, match=r"id .*a name is a str of 1 to 255 characters"):
        check_name("id", bad)


def test_a_non_str_name_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="key must be a str, not int"):
        check_name("key", 42)


def test_a_prefix_may_be_empty() -> None:
    assert check_prefix("") == ""
    with pytest.raises(ValueError, match="prefix"):
        check_prefix("x" * (MAX_NAME_LENGTH + 1))


def test_escape_writes_forbidden_characters_as_code_points() -> None:
    assert escape("order/42#a?b\\c%d\x00") == "order%2F42%23a%3Fb%5Cc%25d%00"
    assert escape("plain-name_1.é🐝") == "plain-name_1.é🐝"


@FAST
@given(name=names)
def test_escape_is_reversible_and_leaves_nothing_forbidden(name: str) -> None:
    escaped = escape(name)

    assert unescape(escaped) == name
    assert not AZURE_KEY_FORBIDDEN.search(escaped)


@FAST
@given(name=names, cut=st.integers(min_value=0, max_value=MAX_NAME_LENGTH))
def test_escape_preserves_prefixes(name: str, cut: int) -> None:
    assert escape(name).startswith(escape(name[:cut]))


@FAST
@given(first=names, second=names)
def test_escape_and_table_names_never_collide(first: str, second: str) -> None:
    if first != second:
        assert escape(first) != escape(second)
        # Azure compares table names without regard to case.
        assert table_name(first).lower() != table_name(second).lower()
        assert table_name(first, "t1").lower() != table_name(second, "t1").lower()


@FAST
@given(name=names, prefix=st.sampled_from(["", "t", "Tenant42", "p" * 20]))
def test_table_names_are_valid_azure_table_names(name: str, prefix: str) -> None:
    made = table_name(name, prefix)

    assert AZURE_TABLE_NAME.fullmatch(made)
    assert made.startswith(prefix)


def test_table_names_stay_readable_and_differ_in_more_than_case() -> None:
    assert table_name("ProductQueuedForOrder").startswith("ProductQueuedForOrderx")
    assert table_name("Order-Archive").startswith("OrderArchivex")
    assert table_name("Order").lower() != table_name("order").lower()
    assert table_name("42", "app").startswith("app42x")
    assert table_name("42").startswith("t42x")


@pytest.mark.parametrize("bad", ["1abc", "a-b", "a" * 21, "é", 42])
def test_a_table_prefix_is_a_short_identifier(bad: object) -> None:
    with pytest.raises(ValueError, match="table prefix"):
        check_table_prefix(bad)
    assert check_table_prefix("") == ""
    assert check_table_prefix("Tenant42") == "Tenant42"


@FAST
@given(first=names, second=names)
def test_table_keys_fit_azure_and_never_collide(first: str, second: str) -> None:
    key = table_key(first)

    assert not AZURE_KEY_FORBIDDEN.search(key)
    assert len(key.encode("utf-16-le")) <= 1024
    if first != second:
        assert key != table_key(second)


def test_a_table_key_is_the_escape_unless_too_long() -> None:
    assert table_key("order/42") == "order%2F42"
    assert table_key("a" * 255) == "a" * 255
    assert table_key("🐝" * 255) == "🐝" * 255  # 510 UTF-16 units: fits
    hashed = table_key("/" * 255)  # 765 characters escaped: too long
    assert hashed.startswith("%h")
    assert len(hashed) == 66


@FAST
@given(name=names, cut=st.integers(min_value=0, max_value=MAX_NAME_LENGTH), other=names)
def test_blob_names_are_flat_reversible_and_prefix_exact(name: str, cut: int, other: str) -> None:
    made = blob_name(name)

    assert unescape(made) == name
    assert not re.search("[/\\\\.\x00-\x1f\x7f-\x9f]", made)
    assert made.startswith(blob_name(name[:cut]))
    assert blob_name(other).startswith(made) == other.startswith(name)
