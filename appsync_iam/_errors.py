"""The error tree of appsync_iam.

::

    AppSyncError(Exception)
    ├─ ConfigurationError(AppSyncError, ValueError)        bad URL, region missing
    ├─ CredentialsError(AppSyncError)                      none, partial, expired
    ├─ TransportError(AppSyncError)                        request did not complete
    │   ├─ RequestTimeout(TransportError, TimeoutError)
    │   └─ ProtocolError(TransportError)                   non-JSON, bad frame
    ├─ HTTPStatusError(AppSyncError)                       .status .error_type
    │   ├─ AuthorizationError                              401/403, signature, token
    │   └─ ThrottlingError                                 429 / throttling errorType
    ├─ GraphQLResponseError(AppSyncError)                  .errors .data
    └─ SubscriptionError(AppSyncError)                     error frames, ka lost

The builtin bases (``ValueError``, ``TimeoutError``) are real. gql's are
added where gql is in use: an error leaving ``AppSyncIAMTransport`` (the
``gql.Client`` path) is also an instance of gql's matching exception
(``TransportError``, ``TransportProtocolError``, ``TransportServerError``,
``TransportQueryError``), so ``except TransportQueryError`` written for gql
keeps working there. This module does not import gql: the facade's path
(``import appsync_iam``, ``AppSyncClient``, the first request) never loads
gql or graphql-core, which are ~180 ms of a cold start. The attributes gql's
exceptions carry are here too (``.code``; ``.query_id``, ``.extensions``).

No message built here ever contains a secret: callers pass server text
through :func:`redact` first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "AppSyncError",
    "AuthorizationError",
    "ConfigurationError",
    "CredentialsError",
    "GraphQLResponseError",
    "HTTPStatusError",
    "ProtocolError",
    "RequestTimeout",
    "SubscriptionError",
    "ThrottlingError",
    "TransportError",
    "UnsignableRequestError",
]


class AppSyncError(Exception):
    """The root of every error this library raises.

    Every error pickles with its attributes (``multiprocessing``,
    ``concurrent.futures``): unpickling restores ``args`` and the instance
    dict without calling ``__init__``, whose keyword-only arguments
    (``status=``, ``errors=``) ``Exception``'s default pickling would drop.
    As for builtin exceptions, ``__cause__`` and the traceback are not kept.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (restore_error, (type(self), self.args, dict(self.__dict__)))


class ConfigurationError(AppSyncError, ValueError):
    """The client was configured with something unusable (raised at construction).

    The message says what to pass instead.
    """


class UnsignableRequestError(ConfigurationError):
    """A request cannot be signed as it would be sent (raised before sending).

    Its body can be neither hashed nor read twice (a one-shot stream larger
    than ``max_buffer``, a file that cannot seek back), or its type is
    unknown. The message says what to pass instead; it never holds a secret.
    """


class CredentialsError(AppSyncError):
    """No credentials were found, only half of them, or they expired for good.

    ``__cause__`` carries the underlying botocore error when there is one.
    """


class TransportError(AppSyncError):
    """The request did not complete: connect failure, reset, timeout.

    The HTTP session survives; whether the operation ran on the server is
    unknown when the request was sent (see :attr:`sent`).
    """

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        #: True when the request body may have reached the server.
        self.sent = sent


class RequestTimeout(TransportError, TimeoutError):
    """No answer within the configured timeout."""


class ProtocolError(TransportError):
    """The server answered something that is not AppSync's protocol.

    A non-JSON HTTP body (an HTML 502 from a proxy, a truncated body) or a
    malformed real-time frame. The message holds a short excerpt, never a
    secret.
    """


class HTTPStatusError(AppSyncError):
    """AppSync answered with an HTTP error status (4xx/5xx).

    The operation did not run for 4xx answers. The HTTP session survives.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error_type: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        #: The status again, under the name gql's ``TransportServerError`` uses.
        self.code: int | None = status
        self.error_type = error_type
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        parts = [f"HTTP {self.status}"]
        if self.error_type:
            parts.append(self.error_type)
        text = f"{' '.join(parts)}: {self.args[0]}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text


class AuthorizationError(HTTPStatusError):
    """401/403: missing or invalid signature, unknown key, expired token or skew."""


class ThrottlingError(HTTPStatusError):
    """429 or a throttling ``errorType``: AppSync did not run the operation."""


class GraphQLResponseError(AppSyncError):
    """HTTP 200 with GraphQL ``errors``: ``.errors`` (list) and ``.data`` (partial).

    The connection survives; other fields of ``.data`` may hold results.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[dict[str, Any]],
        data: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.errors: list[dict[str, Any]] = list(errors)
        self.data = data
        self.request_id = request_id
        # What gql's TransportQueryError also carries (AppSync sends neither).
        self.extensions: Any = None
        self.query_id: int | None = None

    @property
    def error_types(self) -> list[str]:
        """The ``errorType`` of each error that has one."""
        return [e["errorType"] for e in self.errors if e.get("errorType")]


class SubscriptionError(AppSyncError):
    """A subscription ended with an error frame, or its connection failed for good.

    ``.errors`` holds the server's error objects (possibly empty; messages
    redacted: a signature error echoes the session token), ``.error_type``
    the first ``errorType``. Other subscriptions on the connection survive
    unless ``connection_lost`` is true.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[dict[str, Any]] = (),
        connection_lost: bool = False,
    ) -> None:
        super().__init__(message)
        self.errors: list[dict[str, Any]] = [_redact_error(e) for e in errors]
        self.connection_lost = connection_lost

    @property
    def error_type(self) -> str | None:
        for error in self.errors:
            if error.get("errorType"):
                return str(error["errorType"])
        return None


def restore_error(
    cls: type[AppSyncError], args: tuple[Any, ...], state: dict[str, Any]
) -> AppSyncError:
    """Rebuild a pickled error: ``args`` and attributes, no ``__init__``."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


# AppSync echoes the canonical request in signature errors, token included
# (see aws-mobile-appsync-sdk-js PR #561). Redact before any text leaves us.
_SECRET_PATTERNS = [
    (re.compile(r"(?im)^(x-amz-security-token:).*$"), r"\1<redacted>"),
    (
        re.compile(r"(?i)(x-amz-security-token[\"']?\s*[:=]\s*[\"']?)[^\s\"',&]+"),
        r"\1<redacted>",
    ),
    (re.compile(r"(?i)(Signature=)[0-9a-f]{64}"), r"\1<redacted>"),
    (re.compile(r"(?i)(X-Amz-Signature=)[0-9a-f]{64}"), r"\1<redacted>"),
    (re.compile(r"(?i)([?&]header=)[A-Za-z0-9+/=_%-]+"), r"\1<redacted>"),
    (re.compile(r"(?i)(header-)[A-Za-z0-9_-]{40,}"), r"\1<redacted>"),
]


def redact(text: str) -> str:
    """Remove session tokens, signatures and auth header objects from ``text``."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_error(error: dict[str, Any]) -> dict[str, Any]:
    """A server error object with its ``message`` redacted (a copy if needed)."""
    message = error.get("message") if isinstance(error, dict) else None
    if isinstance(message, str) and redact(message) != message:
        return {**error, "message": redact(message)}
    return error


def excerpt(text: str, limit: int = 200) -> str:
    """A short, redacted excerpt of a server answer for an error message."""
    text = redact(text.strip())
    if len(text) > limit:
        return text[:limit] + f"… ({len(text)} chars)"
    return text
