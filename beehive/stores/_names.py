"""The one naming rule of every store, and the escaping that lets any backend honour it.

A *name* is anything a caller uses to address state: an entity id, a collection or list name, a
list key, a counter name, a blob key, a lock resource. Every backend accepts the same names:

    any ``str`` of 1 to 255 characters, except lone surrogates (U+D800 to U+DFFF).

So ``"order/42"``, ``"a#b?c"``, ``"100%"``, ``" "``, ``"ünïcødé 🐝"`` and ``"tab\\there"`` are all
legal everywhere; only the empty string, over-long names, non-strings and lone surrogates (which
no storage encoding can hold) are refused, with a ``ValueError`` (``TypeError`` for non-strings)
that says what is allowed.

Backends that forbid some characters (Azure Table keys forbid ``/ \\ # ?`` and control
characters) escape them transparently with :func:`escape`: each such character, and ``%``
itself, becomes ``%`` and two hex digits of its code point. The escaping is reversible
(:func:`unescape`) and prefix-preserving (the escape of a prefix is a prefix of the escape), so
prefix listing still maps onto a native prefix query. Azure table names (letters and digits,
3 to 63, starting with a letter) come from :func:`table_name`.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

MAX_NAME_LENGTH: Final = 255
NAME_RULE: Final = (
    f"a name is a str of 1 to {MAX_NAME_LENGTH} characters; any character is allowed "
    "except lone surrogates (U+D800 to U+DFFF)"
)

_SURROGATE: Final = re.compile("[\ud800-\udfff]")
# What Azure Table keys forbid (and Blob names handle badly), plus the escape character itself.
_UNSAFE: Final = re.compile("[%/\\\\#?\x00-\x1f\x7f-\x9f]")
_ESCAPED: Final = re.compile("%([0-9A-F]{2})")
_TABLE_NAME: Final = re.compile("[A-Za-z][A-Za-z0-9]{2,62}")


def check_name(what: str, name: object) -> str:
    """``name`` if it follows the naming rule, else a ``ValueError`` naming ``what`` was wrong."""
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, not {type(name).__name__}")
    if not name:
        raise ValueError(f"{what} is empty: {NAME_RULE}")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} has {len(name)} characters: {NAME_RULE}")
    if _SURROGATE.search(name):
        raise ValueError(f"{what} {name!r} contains a lone surrogate: {NAME_RULE}")
    return name


def check_prefix(prefix: object) -> str:
    """A listing prefix: like a name, but it may be empty (to list everything)."""
    if prefix == "":
        return ""
    return check_name("prefix", prefix)


def escape(name: str) -> str:
    """``name`` with ``/ \\ # ? %`` and control characters written as ``%XX`` (code point)."""
    return _UNSAFE.sub(lambda match: f"%{ord(match.group()):02X}", name)


def unescape(escaped: str) -> str:
    """The name :func:`escape` was given."""
    return _ESCAPED.sub(lambda match: chr(int(match.group(1), 16)), escaped)


def table_name(name: str) -> str:
    """A valid Azure table name for a collection or list name, stable and collision-resistant.

    A name that already is one (letters and digits, 3 to 63, starting with a letter) is kept;
    any other keeps its letters and digits and gains a hash of the whole name.
    """
    if _TABLE_NAME.fullmatch(name):
        return name
    kept = "".join(char for char in name if char.isascii() and char.isalnum())[:40]
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{kept if kept[:1].isalpha() else 't' + kept}x{digest}"
