"""docs/how-to/evolving-events.md: its Python blocks run in order, in one namespace (the
module ``shop.actors`` its commands name), and print what the page shows in the ``text``
block after each of them; its ``beehive`` commands run at their place in the page, and the
last one prints the page's last ``text`` block."""

from __future__ import annotations

import re
import shlex
import sys
import types
from pathlib import Path

import pytest

from beehive import ExternalEvents
from beehive.cli import main

PAGE = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "evolving-events.md"
BLOCK = re.compile(r"```(python|text|sh)\n(.*?)```", re.DOTALL)
MODULE = "shop.actors"


def beehive(line: str, directory: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run one ``beehive ...`` line of the page (``> FILE`` writes standard output there)."""
    words = shlex.split(line)
    target = None
    if ">" in words:
        words, target = words[: words.index(">")], words[words.index(">") + 1]
    assert words[0] == "beehive"
    args = [str(directory / w) if w.endswith((".json", ".yaml")) else w for w in words[1:]]
    code = main(args)
    out = capsys.readouterr().out
    assert code == 0, f"{line!r} exited {code}: {out}"
    if target is not None:
        (directory / target).write_text(out)
    return out


def test_the_page_s_examples_run_and_print_what_it_shows(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = types.ModuleType(MODULE)  # a real module, for pydantic's annotations
    monkeypatch.setitem(sys.modules, module.__name__, module)
    blocks = BLOCK.findall(PAGE.read_text())
    waiting: list[str] = []  # commands before the first Python block wait for the network
    shown = 0
    for index, (language, code) in enumerate(blocks):
        if language == "sh":
            waiting += [line for line in code.splitlines() if line.startswith("beehive ")]
            if "OrderPlaced" in vars(module):
                while waiting:
                    beehive(waiting.pop(0), tmp_path, capsys)
            continue
        if language != "python":
            continue
        exec(compile(code, f"{PAGE.name} block {index}", "exec"), module.__dict__)
        printed = capsys.readouterr().out
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        if printed:
            assert following[0] == "text", f"block {index} prints, and no text block shows it"
            assert printed == following[1]
            shown += 1
        while waiting:
            beehive(waiting.pop(0), tmp_path, capsys)
    assert shown == 2
    assert (tmp_path / "asyncapi.yaml").read_text().startswith('asyncapi: "3.0.0"\n')

    # The page redefines OrderPlaced in one namespace; in a file it is one class, which the
    # boundary declares: declare the new one, then check against the snapshot taken before.
    module.external = ExternalEvents(inputs=[module.OrderPlaced])
    last = blocks[-1]
    assert last[0] == "text"
    check = f"beehive schema check {MODULE} --against events.lock.json"
    assert beehive(check, tmp_path, capsys) == last[1]
