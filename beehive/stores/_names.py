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
(:func:`unescape`) and prefix-preserving (the escape of a prefix is a prefix of the escape, and
only of it), so prefix listing still maps onto a native prefix query.

For Azure: :func:`table_key` (a partition or row key: escaped, or a hash when too long),
:func:`blob_name` (escaped, dots too, so that no name is a path segment like ``..`` or ends with
a dot) and :func:`table_name` (letters and digits, 3 to 63, starting with a letter, and unique
even though Azure compares table names without regard to case).
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
# Blob names also avoid dots: ".." would be a path segment, and a trailing dot gets trimmed.
_UNSAFE_IN_BLOB: Final = re.compile("[%/\\\\#?.\x00-\x1f\x7f-\x9f]")
_ESCAPED: Final = re.compile("%([0-9A-F]{2})")
_TABLE_PREFIX: Final = re.compile("[A-Za-z][A-Za-z0-9]{0,19}")
# Azure Table keys hold at most 1 KiB of UTF-16; a longer escaped name becomes this mark (which
# escape() never writes: its "%" is always followed by two upper-case hex digits) and a hash.
MAX_TABLE_KEY_UNITS: Final = 512
_HASHED_KEY: Final = "%h"


def check_name(what: str, name: object) -> str:
    """``name`` if it follows the naming rule, else a ``ValueError`` naming ``what`` was wrong."""
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, not {type(name).__name__}")
    if not name:
        raise ValueError(f"{what} is empty: {NAME_RULE}")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} has {len(name)} characters: {NAME_RULE}")
    if not name.isascii() and _SURROGATE.search(name):  # isascii is a flag: no scan
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


def table_key(name: str) -> str:
    """An Azure Table partition or row key for a name: :func:`escape`, or a hash if too long.

    A hashed key (``%h`` and the SHA-256 of the name) cannot be taken for an escaped name, so
    two names never share a key; stores keep the original name in a property when it was hashed.
    """
    escaped = escape(name)
    if len(escaped.encode("utf-16-le")) <= 2 * MAX_TABLE_KEY_UNITS:
        return escaped
    return _HASHED_KEY + hashlib.sha256(name.encode()).hexdigest()


def blob_name(name: str) -> str:
    """An Azure blob name for a name: :func:`escape`, dots included; :func:`unescape` undoes it.

    The name is flat (``/`` is escaped too, so there are no virtual directories) and prefix
    listing maps onto the native prefix query, as with :func:`escape`.
    """
    return _UNSAFE_IN_BLOB.sub(lambda match: f"%{ord(match.group()):02X}", name)


def check_table_prefix(prefix: object) -> str:
    """A prefix for a store's table names: empty, or a letter then up to 19 letters or digits."""
    if prefix == "" or (isinstance(prefix, str) and _TABLE_PREFIX.fullmatch(prefix)):
        return prefix
    raise ValueError(
        f"table prefix {prefix!r}: use a letter then up to 19 letters or digits (or nothing)"
    )


def table_name(name: str, prefix: str = "") -> str:
    """A valid Azure table name for a collection, list or counter name, stable and unique.

    ``prefix`` (see :func:`check_table_prefix`), then the name's ASCII letters and digits (cut
    to fit, so that a person can tell the tables apart), then ``x`` and a hash of the exact name.
    The hash is always there: Azure compares table names without regard to case, so ``Order``
    and ``order`` must differ in more than case.
    """
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    kept = "".join(char for char in name if char.isascii() and char.isalnum())
    if not (prefix + kept)[:1].isalpha():
        kept = "t" + kept
    room = 63 - len(prefix) - 1 - len(digest)
    return f"{prefix}{kept[:room]}x{digest}"
