"""The README's examples run as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
MARKER = "# README example: "
EXAMPLES = {
    block.splitlines()[0].removeprefix(MARKER): block
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    if block.startswith(MARKER)
}


def test_the_readme_has_runnable_examples() -> None:
    assert {"quick start", "testing"} <= set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_readme_example_runs(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real module, so pydantic can resolve the example's annotations.
    module = types.ModuleType("readme_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(EXAMPLES[name], f"README example {name}", "exec"), module.__dict__)

    if name == "quick start":
        assert capsys.readouterr().out == "paid: pay-o-1\n"
