"""The pytest plugin: the testing guide's own files pass under pytest-asyncio's two modes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "testing.md"
BLOCKS = re.findall(
    r'```(python|toml)(?: title="([^"]+)")?\n(.*?)```', GUIDE.read_text(), re.DOTALL
)
FILES = {title: code for language, title, code in BLOCKS if language == "python" and title}
CONFIGS = {
    "auto": next(code for language, title, code in BLOCKS if title == "pyproject.toml"),
    "strict": next(code for _, _, code in BLOCKS if 'asyncio_mode = "strict"' in code),
}
STRICT_ONLY = "pytestmark = pytest.mark.asyncio  # strict mode needs it; auto mode does not\n"


def run(pytester: pytest.Pytester, mode: str, files: dict[str, str]) -> pytest.RunResult:
    """pytest in a fresh process, which finds beehive's plugin through its entry point."""
    pytester.makefile(".toml", pyproject=CONFIGS[mode])
    for name, code in files.items():
        pytester.makepyfile(**{name.removesuffix(".py"): code})
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error")


def test_the_guide_has_its_example_files() -> None:
    assert set(FILES) == {"shop.py", "conftest.py", "test_shop.py", "test_harness.py"}
    assert STRICT_ONLY in FILES["test_shop.py"]


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_the_guides_tests_pass_in_each_asyncio_mode(pytester: pytest.Pytester, mode: str) -> None:
    files = dict(FILES)
    if mode == "auto":
        files["test_shop.py"] = files["test_shop.py"].replace(STRICT_ONLY, "")
    result = run(pytester, mode, files)
    result.assert_outcomes(passed=4)


def test_the_fixture_says_which_fixture_to_define(pytester: pytest.Pytester) -> None:
    result = run(pytester, "auto", {"test_nothing.py": "async def test_x(hive):\n    pass\n"})
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*define it in your conftest.py*"])
    assert "Traceback" not in result.stdout.str()


MARKERS = """
import pytest
from pydantic import BaseModel

from beehive import ActorDescriptor, Event

pytestmark = pytest.mark.beehive(virtual_time=True, raise_errors=True)


class Job(BaseModel):
    n: int


class Broken:
    async def process(self, event):
        raise RuntimeError("broken")


@pytest.fixture
def beehive_actors():
    return [ActorDescriptor(Broken, "Job-Broken", max_deliveries=2)]


@pytest.mark.beehive(raise_errors=False)
async def test_the_closest_marker_wins(hive):
    await hive.publish(Event(Job(n=1)))
    await hive.wait_idle()
    assert hive.clock is not None
    assert len(hive.dead_letters("Job-Broken")) == 1


async def test_an_actor_error_fails_the_test(hive):
    await hive.publish(Event(Job(n=1)))
    await hive.wait_idle()
"""


def test_markers_pass_options_and_the_closest_wins(pytester: pytest.Pytester) -> None:
    result = run(pytester, "auto", {"test_markers.py": MARKERS})
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*RuntimeError: broken*"])
