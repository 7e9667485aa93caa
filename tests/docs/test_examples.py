"""Every Python example in the docs runs, so a page whose example breaks fails the suite.

The convention, for whoever writes a page in docs/ (also in docs/contributing.md):

1. Every fenced block whose language is ``python`` runs. The blocks of one page run in
   order, in one namespace, like one file read from top to bottom: a later block may use what
   an earlier one defined. Top-level ``await`` is allowed (all such blocks of a page share one
   event loop); ``asyncio.run(main())`` works too. Warnings are errors, as in the suite.
2. A block with a file name for title (after the fence: ``python title="shop/actors.py"``,
   or in any language: ``toml title="pyproject.toml"``) is a file the reader saves: it is
   written at that path in a fresh directory, which is the working directory and first on
   ``sys.path`` while the page runs, and not executed itself. Later blocks may import it. If
   a page saves ``test_*.py`` files, ``python -m pytest`` then runs in that directory, as the
   reader would, and must pass.
3. The only way out: a block whose first line is ``# not run: <reason>`` is shown and
   compiled (its syntax is checked) but not run. Use it only for what cannot run here (a real
   Azure namespace) and say what in the reason; there may be at most ``MAX_NOT_RUN`` such
   blocks in all the docs.
4. Blocks in other languages (``sh``, ``text``, ``toml`` without a file name) are not run.
5. ``scripts/test`` checks the pages' code with ``ruff format --check docs``: run
   ``.venv/bin/ruff format docs`` after writing one.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import signal
import subprocess
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_hooks" not in p.parts)
NOT_RUN = "# not run:"
MAX_NOT_RUN = 5
PAGE_SECONDS = 120

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>.*)$")
TITLE = re.compile(r"""title=["'](?P<title>[^"']+)["']""")
FILE_NAME = re.compile(r"^[\w./-]+\.\w+$")


@dataclass(frozen=True)
class Block:
    language: str
    title: str
    code: str
    line: int  # 1-based line of the block's first code line in its page

    @property
    def file(self) -> str | None:
        """The path the reader saves this block at, when its title is a file name."""
        return self.title if FILE_NAME.match(self.title) else None

    @property
    def not_run(self) -> bool:
        return self.code.lstrip().startswith(NOT_RUN)


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a page, at any indentation (admonitions, tabs)."""
    found: list[Block] = []
    lines = page.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening or not opening["info"].strip():
            index += 1
            continue
        indent, fence, info = opening["indent"], opening["fence"], opening["info"]
        body: list[str] = []
        index += 1
        start = index + 1
        while index < len(lines):
            line = lines[index]
            if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                break
            body.append(line.removeprefix(indent))
            index += 1
        title = TITLE.search(info)
        language = info.split()[0].lstrip("{.").rstrip("}")
        found.append(Block(language, title["title"] if title else "", "\n".join(body), start))
        index += 1
    return found


def _compiled(block: Block, page: Path) -> types.CodeType:
    tree = ast.parse(block.code, str(page))
    ast.increment_lineno(tree, block.line - 1)  # tracebacks point at the page's lines
    return compile(tree, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _forget_modules_under(directory: Path) -> None:
    """Forget the page's modules, namespace packages (no ``__file__``, a ``__path__``) too."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        places = [file] if file else list(getattr(module, "__path__", None) or [])
        if any(Path(place).is_relative_to(directory) for place in places):
            del sys.modules[name]


class PageTimeout(Exception):
    """A page's examples ran longer than ``PAGE_SECONDS``."""


@contextmanager
def _deadline(page: Path, seconds: float) -> Iterator[None]:
    """Interrupt a page that hangs (a broker that accepts and never answers), naming it."""

    def expired(signum: int, frame: object) -> None:
        raise PageTimeout(f"{page.name}: its examples ran longer than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 5)  # again every 5 s: a task may not cancel
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_page(page: Path, directory: Path) -> None:
    """Save the page's files in ``directory``, run its Python blocks, then its saved tests."""
    page_blocks = blocks(page)
    module = types.ModuleType("docs_example_" + re.sub(r"\W", "_", page.stem))
    module.__file__ = str(directory / "__docs_example__.py")
    sys.modules[module.__name__] = module  # a real module, so pydantic resolves annotations
    sys.path.insert(0, str(directory))
    try:
        with _deadline(page, PAGE_SECONDS), asyncio.Runner() as runner:
            for block in page_blocks:
                if block.file:
                    target = directory / block.file
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(block.code + "\n")
                elif block.language == "python" and not block.not_run:
                    code = _compiled(block, page)
                    if code.co_flags & inspect.CO_COROUTINE:
                        runner.run(eval(code, module.__dict__))
                    else:
                        exec(code, module.__dict__)
    finally:
        sys.path.remove(str(directory))
        del sys.modules[module.__name__]
        _forget_modules_under(directory)
    tests = [b.file for b in page_blocks if b.file and Path(b.file).name.startswith("test_")]
    if tests:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{page.name}: its tests fail\n{result.stdout}"


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_examples_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    run_page(page, tmp_path)


def test_examples_left_out_are_few_and_say_why() -> None:
    left_out = [(p, b) for p in PAGES for b in blocks(p) if b.language == "python" and b.not_run]
    for page, block in left_out:
        _compiled(block, page)  # shown to readers: at least valid Python
        reason = block.code.lstrip().splitlines()[0].removeprefix(NOT_RUN).strip()
        assert len(reason) > 10, f"{page.name}:{block.line}: say why the example cannot run"
    assert len(left_out) <= MAX_NOT_RUN, [f"{p.name}:{b.line}" for p, b in left_out]


def test_the_tutorial_has_code_that_runs_and_tests() -> None:
    tutorial = [b for b in blocks(DOCS / "tutorial.md") if b.language == "python"]
    assert any(b.file and Path(b.file).name.startswith("test_") for b in tutorial)
    assert not any(b.not_run for b in tutorial)


def test_blocks_are_found_indented_and_titled(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        'text\n\n```python title="app/x.py"\nX = 1\n```\n\n!!! note\n\n'
        "    ```python\n    from app.x import X\n    assert X == 1\n    ```\n\n```sh\nls\n```\n"
    )
    found = blocks(page)
    assert [(b.language, b.file, b.line) for b in found] == [
        ("python", "app/x.py", 4),
        ("python", None, 10),
        ("sh", None, 15),
    ]
    assert found[1].code == "from app.x import X\nassert X == 1"
    run_page(page, tmp_path)
