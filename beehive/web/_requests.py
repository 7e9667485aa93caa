"""What every write route shares: the bearer token, and a JSON body read within limits."""

from __future__ import annotations

import hmac
import json
import logging
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

logger = logging.getLogger("beehive.web")

MAX_BODY = 1 << 20
"""Bytes a write route reads at most (1 MiB): a larger body is refused with 413."""
TOKEN_VARIABLE = "BEEHIVE_DASHBOARD_TOKEN"


class BadRequest(Exception):
    """A request the route refuses: its status and a message for the caller."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status

    def response(self) -> JSONResponse:
        return answer({"error": str(self)}, self.status)


class _JSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=str).encode()


def answer(value: Any, status: HTTPStatus = HTTPStatus.OK) -> JSONResponse:
    """A JSON response that no cache keeps (values JSON lacks, dates included, as text)."""
    return _JSON(value, status, {"Cache-Control": "no-store"})


def check_token(request: Request, token: bytes | None, action: str) -> None:
    """Refuse unless the request carries ``Authorization: Bearer <token>``.

    No token configured: 403 (the surface is read-only). Wrong or missing: 401. Compared in
    constant time, and never logged.
    """
    if token is None:
        raise BadRequest(
            HTTPStatus.FORBIDDEN, f"read-only: set {TOKEN_VARIABLE} on the host to {action}"
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token):
        logger.warning("%s refused: wrong or missing token", action)
        raise BadRequest(HTTPStatus.UNAUTHORIZED, "wrong or missing token")


async def read_json(request: Request, limit: int = MAX_BODY) -> Any:
    """The body as JSON: 413 past ``limit`` bytes, 400 when it is not JSON (too deep included)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {limit} bytes")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        kind = "too deeply nested" if isinstance(error, RecursionError) else "not JSON"
        raise BadRequest(HTTPStatus.BAD_REQUEST, f"the body is {kind}") from None
