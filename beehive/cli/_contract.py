"""The event contract of the modules a command is given (for check, asyncapi and schema)."""

from __future__ import annotations

import argparse
import sys

from beehive.cli._common import load_descriptors, modules_of
from beehive.contract import Contract, build, find_externals


def load_contract(args: argparse.Namespace) -> Contract:
    """Import the modules, select their actors, and find their declared external events."""
    descriptors = load_descriptors(args)
    modules = [sys.modules[name] for name in modules_of(args)]
    return build(descriptors, find_externals(*modules), modules)
