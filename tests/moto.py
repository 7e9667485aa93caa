"""moto's S3 in server mode, for the tests of the S3 key-value store.

moto comes from PyPI with the ``dev`` extra (``moto[server]``); the ``moto`` session fixture
starts ``python -m moto.server`` on a free loopback port and stops it at the end of the session.
Without moto the tests that ask for it skip, saying why; under CI (``CI`` set) they fail
instead, like the Azurite ones.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.azurite import answers, free_port
from tests.required import unavailable

STARTUP_TIMEOUT = 30.0
# moto accepts any credentials; these only satisfy the SDK's credential chain.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Moto:
    """A running moto server: where S3 listens."""

    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture(scope="session")
def moto() -> Iterator[Moto]:
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        unavailable("moto's server mode is not installed: pip install 'moto[server]'")
    port = free_port()
    workdir = tempfile.TemporaryDirectory(prefix="moto-")
    log = open(Path(workdir.name) / "moto.log", "w+b")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=workdir.name,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                output = log.read().decode(errors="replace")
                pytest.fail(f"moto did not start (exit code {process.poll()}):\n{output}")
            time.sleep(0.05)
        yield Moto(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        workdir.cleanup()
