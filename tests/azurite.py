"""Azurite, the Azure Storage emulator, for the tests that need Blob and Table storage.

``scripts/_azurite.sh`` installs it into ``node_modules/``; the ``azurite`` session fixture
starts it on free loopback ports, in memory, and stops it at the end of the session. Without it
the tests that ask for it skip, saying why; under CI (``CI`` set) they fail instead, so that a
missing install step cannot pass for green.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.required import unavailable

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "node_modules" / ".bin" / "azurite"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key: public, documented by Microsoft, useless elsewhere.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
STARTUP_TIMEOUT = 30.0
CRASHES: list[str] = []
"""What each emulator that died mid-session printed (shown in the session's summary)."""


class Azurite:
    """A running emulator: where its Blob and Table services listen.

    Asking for an address checks that the emulator is still up: one that died is started
    again on new ports (its output goes to ``CRASHES``), so that one crash of the emulator
    does not fail every later test.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir = tempfile.TemporaryDirectory(prefix="azurite-")
        self._log = open(Path(self._workdir.name) / "azurite.log", "w+b")  # noqa: SIM115
        self._ports = (0, 0, 0)

    @property
    def blob_port(self) -> int:
        return self._running()[0]

    @property
    def table_port(self) -> int:
        return self._running()[2]

    @property
    def blob_url(self) -> str:
        return f"http://127.0.0.1:{self.blob_port}/{ACCOUNT}"

    @property
    def table_url(self) -> str:
        return f"http://127.0.0.1:{self.table_port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_url};TableEndpoint={self.table_url};"
        )

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _running(self) -> tuple[int, int, int]:
        if self._process is not None and self._process.poll() is None:
            return self._ports
        if self._process is not None:
            CRASHES.append(f"exit code {self._process.returncode}:\n{self.output()[-4000:]}")
        self.start()
        return self._ports

    def start(self) -> None:
        """Start on free ports; a port taken meanwhile (it exits at once) means a new try."""
        for _ in range(3):
            self._ports = (free_port(), free_port(), free_port())
            self._log.seek(0)
            self._log.truncate()
            self._process = subprocess.Popen(
                [
                    str(AZURITE),
                    *("--blobHost", "127.0.0.1", "--blobPort", str(self._ports[0])),
                    *("--queueHost", "127.0.0.1", "--queuePort", str(self._ports[1])),
                    *("--tableHost", "127.0.0.1", "--tablePort", str(self._ports[2])),
                    *("--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent"),
                    "--disableTelemetry",
                ],
                # Its own working directory: even in memory, it may write a debug or lock file.
                cwd=self._workdir.name,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not all(answers(port) for port in self._ports):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            else:
                return
            self.stop()
        pytest.fail(f"Azurite did not start (exit code {self._process.poll()}):\n{self.output()}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def close(self) -> None:
        self.stop()
        self._log.close()
        self._workdir.cleanup()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    if shutil.which("node") is None:
        unavailable("Node.js is not installed, so Azurite cannot run: install Node.js 20+")
    if not AZURITE.exists():
        unavailable(
            f"Azurite is not installed ({AZURITE.relative_to(ROOT)} is missing): run "
            "scripts/test, which installs it (scripts/_azurite.sh)"
        )
    running = Azurite()
    try:
        running.start()
        yield running
    finally:
        running.close()
