"""The naming rule and the escaping that lets backends with forbidden characters honour it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beehive.stores._names import (
    MAX_NAME_LENGTH,
    check_name,
    check_prefix,
    escape,
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
        assert table_name(first) != table_name(second)


@FAST
@given(name=names)
def test_table_names_are_valid_azure_table_names(name: str) -> None:
    assert AZURE_TABLE_NAME.fullmatch(table_name(name))


def test_valid_table_names_are_kept() -> None:
    assert table_name("ProductQueuedForOrder") == "ProductQueuedForOrder"
    assert table_name("Order-Archive").startswith("OrderArchivex")
