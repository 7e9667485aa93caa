"""docs/how-to/evolving-events.md: its Python blocks run in order, in one namespace, and print
what the page shows in the ``text`` block after each of them."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "evolving-events.md"
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.DOTALL)


def test_the_page_s_examples_print_what_it_shows(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("evolving_events")  # a real module, for pydantic's annotations
    monkeypatch.setitem(sys.modules, module.__name__, module)
    blocks = BLOCK.findall(PAGE.read_text())
    shown = 0
    for index, (language, code) in enumerate(blocks):
        if language != "python":
            continue
        exec(compile(code, f"{PAGE.name} block {index}", "exec"), module.__dict__)
        printed = capsys.readouterr().out
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        if printed:
            assert following[0] == "text", f"block {index} prints, and no text block shows it"
            assert printed == following[1]
            shown += 1
    assert shown == 2
