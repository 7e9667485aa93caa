"""Log output: JSON lines for Container Apps and Log Analytics, or text for people.

The JSON formatter writes one object per record with ``time``, ``level``, ``logger`` and
``message``, every ``extra`` field the caller passed (the host adds ``actor``, ``event_type``,
``event_id``, ``delivery_count``, ``outcome`` and ``duration_ms`` to each message it handles),
and ``exception`` with the traceback when there is one.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
AZURE_HTTP = "azure.core.pipeline.policies.http_logging_policy"
"""The Azure SDK's logger of every HTTP request and response: shown at DEBUG only."""
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

# Attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the record's ``extra`` fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def check_level(name: str) -> str:
    """A log level's name, checked (any case): one of ``LEVELS``."""
    if name.upper() not in LEVELS:
        raise ValueError(
            f"unknown log level {name!r}; choose one of {', '.join(x.lower() for x in LEVELS)}"
        )
    return name.upper()


def configure(
    format: str = "text", level: str | int = "INFO", stream: TextIO | None = None
) -> None:
    """Send every log record at ``level`` and above to ``stream`` (stderr) in ``format``.

    Replaces the root logger's handlers, so calling it twice does not double the output. The
    Azure SDK's line per HTTP request shows only at DEBUG.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown log format {format!r}; choose one of {', '.join(FORMATS)}")
    chosen: int = logging.getLevelName(check_level(level)) if isinstance(level, str) else level
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(chosen)
    quiet_http = chosen > logging.DEBUG
    logging.getLogger(AZURE_HTTP).setLevel(logging.WARNING if quiet_http else logging.NOTSET)
