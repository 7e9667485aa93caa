"""``beehive check``: the event network's problems, one line each, before it is deployed.

Exit code 1 when there is an error, 0 when there are only warnings (or nothing).
"""

from __future__ import annotations

import argparse

from beehive.checks import Severity, check
from beehive.cli._common import CommandError, add_option, add_selection
from beehive.cli._contract import load_contract
from beehive.limits import RULES


def configure(parser: argparse.ArgumentParser) -> None:
    add_selection(parser)
    add_option(
        parser,
        "--broker",
        env="BEEHIVE_CHECK_BROKER",
        help=f"whose naming rules and limits to apply: {', '.join(RULES)}",
    )


def main(args: argparse.Namespace) -> int:
    rules = RULES.get(args.broker)
    if rules is None:
        raise CommandError(f"unknown broker {args.broker!r}; choose one of {', '.join(RULES)}")
    problems = check(load_contract(args), rules)
    for problem in problems:
        print(problem)
    errors = sum(p.severity is Severity.ERROR for p in problems)
    warnings = len(problems) - errors
    print(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return 1 if errors else 0
