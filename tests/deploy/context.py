"""What ``docker build`` would see and copy, without Docker: the build context as
``.dockerignore`` filters it, and the files each ``COPY`` puts into the image.

``.dockerignore`` as Docker reads it: one pattern a line (``#`` comments), ``*`` and ``?``
within one path segment, ``**`` across segments, ``!`` re-including, the last matching line
deciding, a pattern matching a directory covering everything in it.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path


def _regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*/?|\*|\?)", pattern.strip("/"))
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(p, re.escape(p)) for p in parts))


@dataclass(frozen=True, slots=True)
class Context:
    """A build context directory and its ``.dockerignore``."""

    root: Path

    def _rules(self) -> list[tuple[bool, str, re.Pattern[str]]]:
        ignore = self.root / ".dockerignore"
        lines = ignore.read_text().splitlines() if ignore.exists() else []
        rules = []
        for line in (raw.strip() for raw in lines):
            if line and not line.startswith("#"):
                pattern = line.removeprefix("!").strip("/")
                rules.append((line.startswith("!"), pattern, _regex(pattern)))
        return rules

    def files(self) -> list[str]:
        """Every file the builder receives, relative and posix."""
        rules = self._rules()
        # Where a re-including pattern starts before its first wildcard: a directory that is
        # excluded and none of these can reach is not walked (a venv is 100,000 files).
        reachable = [re.split(r"[*?]", pattern)[0] for keep, pattern, _ in rules if keep]
        found = []
        for directory, subdirectories, names in os.walk(self.root):
            base = Path(directory).relative_to(self.root).as_posix()
            prefix = "" if base == "." else f"{base}/"
            subdirectories[:] = [
                name
                for name in subdirectories
                if _included(prefix + name, rules)
                or any(_reaches(start, f"{prefix}{name}/") for start in reachable)
            ]
            found += [prefix + name for name in names if _included(prefix + name, rules)]
        return sorted(found)


def _included(relative: str, rules: list[tuple[bool, str, re.Pattern[str]]]) -> bool:
    """Whether the file or directory at ``relative`` (posix) is sent to the builder."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    keep = True
    for reinclude, _, rule in rules:
        if any(rule.fullmatch(prefix) for prefix in prefixes):
            keep = reinclude
    return keep


def _reaches(start: str, directory: str) -> bool:
    """Whether a pattern beginning with ``start`` may match a path in ``directory``."""
    return start.startswith(directory) or directory.startswith(start)


@dataclass(frozen=True, slots=True)
class Copy:
    """One ``COPY`` from the context: its sources and destination, build arguments applied."""

    sources: tuple[str, ...]
    destination: str


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    return [
        (m.group(1).upper(), m.group(2).strip())
        for m in re.finditer(r"^\s*([A-Za-z]+)\s+(.*)$", joined, re.MULTILINE)
        if not m.group(0).lstrip().startswith("#")
    ]


def arguments(dockerfile: str) -> dict[str, str]:
    """The ``ARG`` defaults (an ``ARG`` without one maps to ``""``)."""
    found = {}
    for name, rest in _instructions(dockerfile):
        if name == "ARG":
            key, _, default = rest.partition("=")
            found[key] = default
    return found


def environment(dockerfile: str) -> dict[str, str]:
    """The ``ENV`` settings of the last stage, ``$PATH``-style references left as they are."""
    settings: dict[str, str] = {}
    for name, rest in _instructions(dockerfile):
        if name == "FROM":
            settings = {}
        elif name == "ENV":
            settings |= dict(re.findall(r"(\w+)=(\S+)", rest))
    return settings


def runs(dockerfile: str) -> list[str]:
    """The shell commands of the last stage's ``RUN`` instructions (shell form)."""
    found: list[str] = []
    for name, rest in _instructions(dockerfile):
        if name == "FROM":
            found = []
        elif name == "RUN":
            found.append(rest)
    return found


def copies(dockerfile: str, **build_args: str) -> list[Copy]:
    """Every ``COPY`` that reads the build context (not ``--from`` another stage)."""
    values = arguments(dockerfile) | build_args
    found = []
    for name, rest in _instructions(dockerfile):
        if name != "COPY" or rest.startswith("--from"):
            continue
        expanded = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], rest).split()
        found.append(Copy(tuple(expanded[:-1]), expanded[-1]))
    return found


def missing_sources(context: Context, dockerfile: str, **build_args: str) -> list[str]:
    """The ``COPY`` sources the builder would not find in the filtered context."""
    files = context.files()
    return [
        source
        for copy in copies(dockerfile, **build_args)
        for source in copy.sources
        if not any(f == source or f.startswith(source.rstrip("/") + "/") for f in files)
    ]


def lay_out(context: Context, dockerfile: str, image: Path, **build_args: str) -> None:
    """Copy into the directory ``image`` what each context ``COPY`` puts into the image."""
    files = context.files()
    for copy in copies(dockerfile, **build_args):
        target = image / copy.destination.lstrip("/")
        for source in copy.sources:
            prefix = source.rstrip("/")
            for f in files:
                if f == prefix:
                    destination = (
                        target / Path(f).name if copy.destination.endswith("/") else target
                    )
                elif f.startswith(prefix + "/"):
                    destination = target / f.removeprefix(prefix + "/")
                else:
                    continue
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(context.root / f, destination)
