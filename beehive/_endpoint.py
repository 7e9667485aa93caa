"""A minimal HTTP/1.1 responder for probes and scraping: ``/healthz``, ``/readyz``, ``/metrics``.

It serves three GET paths to kubelets and Prometheus, one request per connection, so it needs
no web framework: asyncio's own server is enough. Other paths go to ``routes`` when given (the
dashboard), which may also take POSTs with a small body.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from beehive.metrics import CONTENT_TYPE

logger = logging.getLogger("beehive.endpoint")

READ_TIMEOUT = 5.0
MAX_REQUEST_HEAD = 8192
MAX_REQUEST_BODY = 65536


@dataclass(frozen=True, slots=True)
class Request:
    """One request as ``routes`` sees it: header names in lower case, the query decoded."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Response:
    status: HTTPStatus
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


Routes = Callable[[Request], Awaitable[Response | None]]
"""Answers a request, or None when it has no such path (then: 404)."""


class _BadRequest(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class HealthEndpoint:
    """Serves liveness, readiness and metrics on ``host:port`` (port 0 picks a free one).

    ``ready`` says whether the host is ready for work; ``metrics`` renders the metrics text;
    ``routes`` answers every other path.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ready: Callable[[], bool],
        metrics: Callable[[], Awaitable[str]],
        routes: Routes | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._ready = ready
        self._metrics = metrics
        self._routes = routes
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose, when asked for 0)."""
        if self._server is None or not self._server.sockets:
            return self._port
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                request = await _read(reader)
            response = await self._respond(request)
        except _BadRequest as error:
            response = _text(error.status, f"{error}\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            response = _text(HTTPStatus.BAD_REQUEST, "bad request\n")
        except Exception:
            logger.exception("health endpoint failed")
            response = _text(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error\n")
        extra = "".join(f"{name}: {value}\r\n" for name, value in response.headers.items())
        try:
            writer.write(
                f"HTTP/1.1 {response.status.value} {response.status.phrase}\r\n"
                f"Content-Type: {response.content_type}\r\n"
                f"Content-Length: {len(response.body)}\r\n"
                f"{extra}"
                "Connection: close\r\n\r\n".encode("latin-1")
                + response.body
            )
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, request: Request) -> Response:
        method, path = request.method, request.path
        if path not in ("/healthz", "/readyz", "/metrics") and self._routes is not None:
            routed = await self._routes(request)
            if routed is not None:
                return routed
        if method not in ("GET", "HEAD"):
            return _text(HTTPStatus.METHOD_NOT_ALLOWED, "GET only\n")
        if path == "/healthz":
            status, content_type, body = HTTPStatus.OK, "text/plain", b"ok\n"
        elif path == "/readyz":
            ready = self._ready()
            status = HTTPStatus.OK if ready else HTTPStatus.SERVICE_UNAVAILABLE
            content_type, body = "text/plain", b"ready\n" if ready else b"not ready\n"
        elif path == "/metrics":
            status, content_type = HTTPStatus.OK, CONTENT_TYPE
            body = (await self._metrics()).encode("utf-8")
        else:
            status, content_type, body = HTTPStatus.NOT_FOUND, "text/plain", b"not found\n"
        return Response(status, content_type, b"" if method == "HEAD" else body)


def _text(status: HTTPStatus, text: str) -> Response:
    return Response(status, "text/plain", text.encode())


async def _read(reader: asyncio.StreamReader) -> Request:
    """Read one request: the head, then a body of at most ``MAX_REQUEST_BODY`` bytes."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise _BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "too large") from None
    if len(head) > MAX_REQUEST_HEAD:
        raise _BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "too large")
    first, *lines = head.decode("latin-1").split("\r\n")
    method, _, rest = first.partition(" ")
    target = urlsplit(rest.split(" ", 1)[0])
    headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise _BadRequest(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
    if not 0 <= length <= MAX_REQUEST_BODY:
        raise _BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
    body = await reader.readexactly(length) if length else b""
    query = {key: values[-1] for key, values in parse_qs(target.query).items()}
    return Request(method, target.path, query, headers, body)


def probe(path: str = "/healthz", port: int | None = None, timeout: float = 3.0) -> int:
    """0 when ``http://127.0.0.1:<port><path>`` answers 200, else 1: a container HEALTHCHECK
    without curl (``python -m beehive._endpoint /healthz``); the port defaults to
    ``BEEHIVE_PORT`` or 8080."""
    import os
    import urllib.error
    import urllib.request

    port = port or int(os.environ.get("BEEHIVE_PORT") or 8080)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
            return 0 if answer.status == HTTPStatus.OK else 1
    except (OSError, ValueError):
        return 1


if __name__ == "__main__":
    import sys

    raise SystemExit(probe(sys.argv[1] if len(sys.argv) > 1 else "/healthz"))
