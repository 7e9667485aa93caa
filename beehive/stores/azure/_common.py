"""What every Azure store shares: the SDK import, credentials, closing, errors without secrets.

Imported first by every module of this package, so a missing extra fails here with the extra to
install.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeAlias, TypeVar
from urllib.parse import urlsplit

try:
    from azure.core import MatchConditions
    from azure.core.credentials import AzureNamedKeyCredential, AzureSasCredential
    from azure.core.credentials_async import AsyncTokenCredential
    from azure.core.exceptions import HttpResponseError
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.stores.azure needs the Azure SDK: pip install 'beehive-actors[azure]'"
    ) from error

from beehive.errors import ConcurrencyConflictError

__all__ = [
    "AsyncTokenCredential",
    "AzureStore",
    "Credential",
    "HttpResponseError",
    "MatchConditions",
    "conflict",
    "error_code",
    "from_connection_string",
    "owned_credential",
]

Credential: TypeAlias = AsyncTokenCredential | AzureNamedKeyCredential | AzureSasCredential
"""What an account URL can be paired with: a token credential (managed identity, the default),
the account name and key, or a SAS token."""

ClientT = TypeVar("ClientT")


def owned_credential(
    account_url: str, credential: Credential | None
) -> tuple[Credential | None, AsyncTokenCredential | None]:
    """The credential to use, and the one the store made (and must close) when none was given.

    Without one, an account URL that carries a SAS token needs none; any other gets a
    ``DefaultAzureCredential``, which connects nowhere until a request asks it for a token.
    """
    if credential is not None or urlsplit(account_url).query:
        return credential, None
    from azure.identity.aio import DefaultAzureCredential

    default = DefaultAzureCredential()
    return default, default


def from_connection_string(
    build: Callable[..., ClientT], connection_string: str, what: str, **options: Any
) -> ClientT:
    """``build(connection_string)``, with an error that does not repeat the string (or its key).

    The SDK accepts a key that is not base64 and fails only when it signs the first request;
    it is refused here instead.
    """
    try:
        _check_key(connection_string)
        return build(connection_string, **options)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ValueError(
            f"malformed {what} connection string (not shown: it may hold a key); expected "
            "DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=... "
            "or explicit ...Endpoint= entries"
        ) from None


def _check_key(connection_string: str) -> None:
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "accountkey":
            base64.b64decode(value.strip(), validate=True)  # binascii.Error is a ValueError


def error_code(error: HttpResponseError) -> str:
    """The service's error code (``TableNotFound``, ``LeaseAlreadyPresent``...), or ``""``.

    Some SDK paths set ``error_code``, others leave it in a header or in the body.
    """
    code: object = getattr(error, "error_code", None)
    if code:
        return str(getattr(code, "value", code))
    response: Any = error.response
    if response is None:
        return ""
    header = response.headers.get("x-ms-error-code")
    if header:
        return str(header)
    try:
        return str(json.loads(response.text())["odata.error"]["code"])
    except (ValueError, KeyError, TypeError):
        return ""


def conflict(
    where: str, what: str, id: str, expected: str | None, stored: str | None
) -> ConcurrencyConflictError:
    """A lost conditional write, naming the versions verbatim.

    Azure's etags hold quotes (``W/"datetime'...'"``), which a repr would escape; the message
    must show them as the caller holds them.
    """
    actual = "absent" if stored is None else f"at version {stored}"
    wanted = "absent" if expected is None else f"at version {expected}"
    return ConcurrencyConflictError(
        f"{what} {id!r} in {where} is {actual}, but the write expected it {wanted}"
    )


class AzureStore:
    """Closing (``await store.close()`` or ``async with store:``) and a repr without secrets."""

    _closers: list[Callable[[], Awaitable[None]]]
    _described: str

    def _own(self, described: str, client: Any, credential: AsyncTokenCredential | None) -> None:
        self._described = described
        self._closers = [client.close]
        if credential is not None:
            self._closers.append(credential.close)

    async def close(self) -> None:
        """Close the SDK client (its connections) and the credential the store made."""
        for close in self._closers:
            await close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._described})"
