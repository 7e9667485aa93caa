"""The image's pins: ``infra/image/constraints.txt``, from the environment the tests ran in.

    .venv/bin/python infra/image/lock.py           # rewrite constraints.txt from .venv
    .venv/bin/python infra/image/lock.py --check   # exit 1, saying what, if it is stale

The constraints pin every runtime dependency of beehive-actors with the extras an image may
ask for (``EXTRAS``: azure, rabbitmq, postgres), at the versions installed here: the versions
the test suite ran against. The Dockerfile installs the wheel under them, and an application
image built on it installs its own requirements under them too.
"""

from __future__ import annotations

import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CONSTRAINTS = HERE / "constraints.txt"
EXTRAS = ("azure", "rabbitmq", "postgres")
HEADER = """\
# Every runtime dependency of beehive-actors[azure,rabbitmq,postgres], pinned at the versions
# the tests ran against. Written by infra/image/lock.py: rerun it after changing pyproject.toml.
"""


def direct(extras: tuple[str, ...] = EXTRAS) -> list[Requirement]:
    """pyproject.toml's runtime requirements, with those of ``extras``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    raw = list(project["dependencies"])
    for extra in extras:
        raw += project["optional-dependencies"][extra]
    return [Requirement(r) for r in raw]


def closure(extras: tuple[str, ...] = EXTRAS) -> dict[str, str]:
    """Every distribution the runtime needs, by canonical name, with its installed version."""
    pins: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = direct(extras)
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        installed = distribution(requirement.name)
        pins[name] = installed.version
        for raw in installed.requires or []:
            needed = Requirement(raw)
            wanted = requirement.extras or {""}
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in wanted):
                todo.append(needed)
    return dict(sorted(pins.items()))


def read(path: Path = CONSTRAINTS) -> dict[str, str]:
    """The pins of a constraints file, by canonical name."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def problems() -> list[str]:
    """What makes the committed constraints stale; empty when they cover the runtime."""
    pinned = read()
    found = [f"{name} is needed but not pinned" for name in closure() if name not in pinned]
    for requirement in direct():
        version = pinned.get(canonicalize_name(requirement.name))
        if version is not None and version not in requirement.specifier:
            found.append(f"{requirement.name}=={version} breaks pyproject's {requirement}")
    return found


def main(argv: list[str]) -> int:
    if argv == ["--check"]:
        stale = problems()
        for problem in stale:
            print(f"{CONSTRAINTS.relative_to(ROOT)}: {problem}", file=sys.stderr)
        return 1 if stale else 0
    lines = [f"{name}=={version}" for name, version in closure().items()]
    CONSTRAINTS.write_text(HEADER + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
