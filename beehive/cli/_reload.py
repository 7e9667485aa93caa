"""``beehive run --reload``: for development, restart the host whenever the app's files change.

The host runs in a child process; watchfiles (the ``reload`` extra, the watcher uvicorn uses)
stops it with SIGINT when a ``.py`` or ``.toml`` file under ``--app-dir`` changes, lets it
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
    child = argparse.Namespace(**{**vars(args), "reload": False})
    logger.warning("watching %s to restart the host on changes: for development only", root)
    watchfiles.run_process(
        root,
        target=_host,
        args=(child,),
        callback=_changed,
        watch_filter=watchfiles.PythonFilter(extra_extensions=(".toml",)),
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
