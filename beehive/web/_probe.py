"""Probing the endpoint from inside its container, and a worker's from its supervisor."""

from __future__ import annotations

import urllib.error
import urllib.request
from http import HTTPStatus

from pydantic import ValidationError

from beehive import settings

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
"""Loopback requests never go through the proxy ``http_proxy`` may name."""


def fetch(port: int, path: str, timeout: float) -> tuple[int, str]:
    """``GET http://127.0.0.1:<port><path>``: the status and the body (OSError if none)."""
    try:
        with _DIRECT.open(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def probe(path: str = "/healthz", port: int | None = None, timeout: float = 3.0) -> int:
    """0 when ``http://127.0.0.1:<port><path>`` answers 200, else 1; the port defaults to
    ``BEEHIVE_PORT`` or 8080."""
    try:
        status, _ = fetch(port or settings.get("port"), path, timeout)
    except (OSError, ValueError, ValidationError):
        return 1
    return 0 if status == HTTPStatus.OK else 1
