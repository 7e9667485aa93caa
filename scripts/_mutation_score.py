"""Prints a module's mutation score from mutmut's results in the working directory, and writes
every surviving mutant with its diff to survivors.txt (run by scripts/mutation); with
``--survivors MODULE``, only lists the surviving mutants' names.

A survivor that changes nothing but the arguments of ``logger`` calls (a log text, its values)
is counted apart, as equivalent: the score is given with and without them.
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

import libcst as cst
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import (
    get_diff_for_mutant,
    read_functions_from_index,
    read_mutant_function,
    read_mutants_module,
    read_original_function,
)
from mutmut.stats import status_by_exit_code

KILLED = {"killed", "timeout", "caught by type check"}


class _Unlogged(ast.NodeTransformer):
    """Replaces every ``logger.<level>(...)`` statement with ``pass``."""

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        call = node.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "logger"
        ):
            return ast.Pass()
        return node


def only_logging(name: str, module: str) -> bool:
    """Whether mutant ``name`` differs from the original only inside logger calls."""
    functions = read_functions_from_index(name, module)
    if functions is None:
        tree = read_mutants_module(module)
        functions = (read_original_function(tree, name), read_mutant_function(tree, name))
    dumps = []
    for function in functions:
        tree = ast.parse(cst.Module([function]).code)
        dumps.append(ast.dump(_Unlogged().visit(tree)))
    return dumps[0] == dumps[1]


def load(module: str) -> dict[str, str]:
    """Each mutant of ``module`` by name, with its status."""
    data = SourceFileMutationData(path=Path(module))
    data.load()
    return {name: status_by_exit_code[code] for name, code in data.exit_code_by_key.items()}


def main(module: str, seconds: str) -> None:
    statuses = load(module)
    counts = Counter(statuses.values())
    tested = len(statuses) - counts["skipped"]
    killed = sum(counts[status] for status in KILLED)
    survivors = [n for n, s in statuses.items() if s not in KILLED and s != "skipped"]
    logging_only = {n for n in survivors if only_logging(n, module)}
    score = 100 * killed / tested if tested else 0.0
    real = tested - len(logging_only)
    adjusted = 100 * killed / real if real else 0.0
    others = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in KILLED)
    print(
        f"{module}: {score:.1f}% ({killed} of {tested} mutants killed; {others or 'none left'}); "
        f"{adjusted:.1f}% without the {len(logging_only)} that change only a log call"
    )
    lines = []
    for name in survivors:
        status = statuses[name] + (" (log call only)" if name in logging_only else "")
        diff = get_diff_for_mutant(name, path=module)
        lines += [f"# {name}: {status}", diff, ""]
        if name in logging_only:
            continue
        print(f"  {status}: {name.rpartition('.')[2]}")
        for line in diff.splitlines():
            if line[:1] in "+-" and not line.startswith(("+++", "---")):
                print(f"      {line.strip()[:110]}")
    Path("survivors.txt").write_text("\n".join(lines))
    print(f"  ({int(seconds) // 60} min {int(seconds) % 60} s; every diff in survivors.txt)")


if __name__ == "__main__":
    if sys.argv[1] == "--survivors":  # their names, one a line, for ``mutmut run``
        for name, status in load(sys.argv[2]).items():
            if status not in KILLED and status != "skipped":
                print(name)
    else:
        main(*sys.argv[1:])
