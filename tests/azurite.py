"""Azurite, the Azure Storage emulator, for the tests that need Blob and Table storage.

``scripts/_azurite.sh`` installs it into ``node_modules/``; the ``azurite`` session fixture
starts it on free loopback ports, in memory, and stops it at the end of the session. Without it
the tests that ask for it skip, saying why; under CI (``CI`` set) they fail instead, so that a
missing install step cannot pass for green.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "node_modules" / ".bin" / "azurite"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key: public, documented by Microsoft, useless elsewhere.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Azurite:
    """A running emulator: where its Blob and Table services listen."""

    blob_port: int
    table_port: int

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


def unavailable(reason: str, remedy: str) -> None:
    """Skip, or fail under CI, where these tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the Azure tests must run): {remedy}")
    pytest.skip(f"{reason}: {remedy} to run the Azure tests")


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
        unavailable("Node.js is not installed, so Azurite cannot run", "install Node.js 20+")
    if not AZURITE.exists():
        unavailable(
            f"Azurite is not installed ({AZURITE.relative_to(ROOT)} is missing)",
            "run scripts/test, which installs it (scripts/_azurite.sh),",
        )
    ports = [free_port() for _ in range(3)]
    running = Azurite(blob_port=ports[0], table_port=ports[2])
    # Its own working directory: even in memory, Azurite may write a debug log or a lock file.
    workdir = tempfile.TemporaryDirectory(prefix="azurite-")
    log = open(Path(workdir.name) / "azurite.log", "w+b")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            str(AZURITE),
            *("--blobHost", "127.0.0.1", "--blobPort", str(ports[0])),
            *("--queueHost", "127.0.0.1", "--queuePort", str(ports[1])),
            *("--tableHost", "127.0.0.1", "--tablePort", str(ports[2])),
            *("--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--silent"),
            "--disableTelemetry",
        ],
        cwd=workdir.name,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not (answers(running.blob_port) and answers(running.table_port)):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode(errors="replace")
                pytest.fail(f"Azurite did not start (exit code {process.poll()}):\n{output}")
            time.sleep(0.05)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        workdir.cleanup()
