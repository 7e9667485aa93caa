"""``beehive run --reload``: for development, restart the host whenever the app's files change.

The host runs in a child process; watchfiles (the ``reload`` extra, the watcher uvicorn uses)
stops it with SIGINT when a ``.py`` or ``.toml`` file under ``--app-dir`` (or the ``--config``
file, wherever it is) changes, lets it
stop gracefully, and starts a new one, which imports the modules afresh. A host that fails to
start (an import error while editing) is started again at the next change.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from beehive.cli._common import CommandError

logger = logging.getLogger("beehive.cli")


def serve_reloading(args: argparse.Namespace) -> int:
    try:
        import watchfiles
    except ImportError:
        raise CommandError("--reload needs: pip install 'beehive-actors[reload]'") from None
    root = Path(args.app_dir).resolve()
    config = Path(args.config).resolve() if args.config else None
    watched = {root} if config is None or config.is_relative_to(root) else {root, config.parent}
    child = argparse.Namespace(**{**vars(args), "reload": False})
    logger.warning(
        "watching %s to restart the host on changes: for development only",
        " and ".join(str(path) for path in [root, config] if path is not None),
    )
    code = watchfiles.PythonFilter(extra_extensions=(".toml",))

    def relevant(change: watchfiles.Change, path: str) -> bool:
        changed = Path(path)
        return changed == config or (changed.is_relative_to(root) and code(change, path))

    watchfiles.run_process(
        *watched,
        target=_host,
        args=(child,),
        callback=_changed,
        watch_filter=relevant,
        sigint_timeout=args.grace + 5,
    )
    return 0


def _host(args: argparse.Namespace) -> None:
    """The child process: one host, until a change (SIGINT) stops it."""
    from beehive.cli import execute

    sys.exit(execute(args))


def _changed(changes: set[tuple[Any, str]]) -> None:
    paths = sorted({Path(path).name for _, path in changes})
    logger.info("restarting the host: %s changed", ", ".join(paths))
