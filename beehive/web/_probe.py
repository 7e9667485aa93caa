"""Probing the endpoint from inside its container."""

from __future__ import annotations

import urllib.error
import urllib.request
from http import HTTPStatus

from pydantic import ValidationError

from beehive import settings


def probe(path: str = "/healthz", port: int | None = None, timeout: float = 3.0) -> int:
    """0 when ``http://127.0.0.1:<port><path>`` answers 200, else 1; the port defaults to
    ``BEEHIVE_PORT`` or 8080."""
    try:
        port = port or settings.get("port")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
            return 0 if answer.status == HTTPStatus.OK else 1
    except (OSError, ValueError, ValidationError):
        return 1
