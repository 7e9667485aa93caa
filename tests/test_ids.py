"""Event ids and etags: unique, shaped like GUIDs, never continued by a forked child."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

from beehive import Event, _ids


def test_ids_are_version_8_uuids_in_canonical_form() -> None:
    parsed = uuid.UUID(_ids.new_id())

    assert parsed.version == 8
    assert parsed.variant == uuid.RFC_4122
    assert str(parsed) == str(parsed).lower()


def test_tags_are_32_hex_digits() -> None:
    tag = _ids.new_tag()

    assert len(tag) == 32
    assert uuid.UUID(hex=tag).version == 8


def test_ids_of_one_process_never_repeat() -> None:
    ids = {_ids.new_id() for _ in range(100_000)} | {_ids.new_tag() for _ in range(1_000)}

    assert len(ids) == 101_000


def test_events_take_these_ids() -> None:
    assert uuid.UUID(Event(event_type="Ping").id).version == 8


def test_two_processes_draw_different_prefixes() -> None:
    first, second = _ids._State(), _ids._State()

    assert first.prefix != second.prefix


def test_the_counter_running_out_draws_a_new_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a counter at its last value
    state = _ids._state
    monkeypatch.setattr(_ids, "_LIMIT", next(state.counter) + 2)

    last, after = _ids.new_id(), _ids.new_id()

    # Then the next id starts afresh under another prefix, and none repeats
    assert last.rsplit("-", 1)[0] == state.prefix[:-1]
    assert not after.startswith(state.prefix)
    assert after.endswith("000000000000")


@pytest.mark.skipif(sys.platform == "win32", reason="os.fork")
def test_a_forked_child_does_not_continue_its_parents_sequence() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send one id and leave at once
        os.write(write, _ids.new_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)

    assert child.rsplit("-", 1)[0] != _ids.new_id().rsplit("-", 1)[0]
