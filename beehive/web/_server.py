"""Serving an ASGI app with uvicorn inside the host's event loop, on a socket we bind."""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from starlette.types import ASGIApp

SHUTDOWN_GRACE = 5.0
"""Seconds open requests may take to finish once the server stops."""


class Server:
    """``app`` on ``host:port`` (port 0: the system picks one, see :attr:`port`).

    Unlike ``uvicorn.run`` it leaves the process's signals and logging alone: the caller owns
    them (``beehive run`` stops on its own SIGTERM handler). Binding errors are ``OSError``.
    """

    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            timeout_graceful_shutdown=int(SHUTDOWN_GRACE),
        )
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._ticking: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the system chose, when asked for 0)."""
        if self._socket is None:
            return self._config.port
        port: int = self._socket.getsockname()[1]
        return port

    async def start(self) -> None:
        config = self._config
        self._socket = _listening(config.host, config.port)
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        await server.startup(sockets=[self._socket])
        self._server = server
        self._ticking = asyncio.create_task(server.main_loop(), name="http-endpoint")

    async def aclose(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.should_exit = True
        if self._ticking is not None:
            await self._ticking
        await server.shutdown(sockets=[self._socket] if self._socket else None)
        self._socket = None

    async def __aenter__(self) -> Server:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _listening(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port``, created as asyncio's own server does.

    It is created with the TCP protocol number, not 0 (``socket.create_server``'s): asyncio
    sets TCP_NODELAY only on connections accepted from such a socket, and without it each
    response on a kept-alive connection waits some 40 ms for the client's delayed ACK.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
        listening.listen(socket.SOMAXCONN)
    except OSError:
        listening.close()
        raise
    return listening
