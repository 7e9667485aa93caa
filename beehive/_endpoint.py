"""A minimal HTTP/1.1 responder for probes and scraping: ``/healthz``, ``/readyz``, ``/metrics``.

It serves three GET paths to kubelets and Prometheus, one request per connection, so it needs
no web framework: asyncio's own server is enough.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from beehive.metrics import CONTENT_TYPE

logger = logging.getLogger("beehive.endpoint")

READ_TIMEOUT = 5.0
MAX_REQUEST_HEAD = 8192


class HealthEndpoint:
    """Serves liveness, readiness and metrics on ``host:port`` (port 0 picks a free one).

    ``ready`` says whether the host is ready for work; ``metrics`` renders the metrics text.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ready: Callable[[], bool],
        metrics: Callable[[], Awaitable[str]],
    ) -> None:
        self._host = host
        self._port = port
        self._ready = ready
        self._metrics = metrics
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
                head = await reader.readuntil(b"\r\n\r\n")
            status, content_type, body = await self._respond(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            status, content_type, body = HTTPStatus.BAD_REQUEST, "text/plain", b"bad request\n"
        except Exception:
            logger.exception("health endpoint failed")
            status, content_type, body = (
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "text/plain",
                b"internal error\n",
            )
        try:
            writer.write(
                f"HTTP/1.1 {status.value} {status.phrase}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n".encode("ascii")
                + body
            )
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, head: bytes) -> tuple[HTTPStatus, str, bytes]:
        if len(head) > MAX_REQUEST_HEAD:
            return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "text/plain", b"too large\n"
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        path = rest.split(" ", 1)[0].split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return HTTPStatus.METHOD_NOT_ALLOWED, "text/plain", b"GET only\n"
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
        return status, content_type, b"" if method == "HEAD" else body


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
