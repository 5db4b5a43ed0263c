"""appsync_iam: an async client for AWS AppSync APIs protected by IAM (SigV4).

The public names are re-exported here; the modules are private.

``AppSyncIAMTransport`` (gql's transport) is loaded on first access: it
imports gql and graphql-core, which the rest of the library never needs, and
which would otherwise be most of a Lambda cold start.
"""

from __future__ import annotations

import typing as _typing

from ._batch import BatchResult
from ._client import AppSyncClient
from ._credentials import (
    BotocoreCredentials,
    CallableCredentials,
    CredentialSource,
    DefaultCredentials,
    EnvironmentCredentials,
    FrozenCredentials,
    StaticCredentials,
)
from ._endpoint import AppSyncEndpoint
from ._errors import (
    AppSyncError,
    AuthorizationError,
    ConfigurationError,
    CredentialsError,
    GraphQLResponseError,
    HTTPStatusError,
    ProtocolError,
    RequestTimeout,
    SubscriptionError,
    ThrottlingError,
    TransportError,
)
from ._rate import AdaptiveRateLimiter, TokenBucket
from ._realtime import (
    ConnectionEvent,
    ConnectionState,
    RealtimeClient,
    RealtimeOptions,
)
from ._retry import RetryPolicy
from ._signer import SigV4Signer
from ._sigv4a import SigV4ASigner

if _typing.TYPE_CHECKING:
    from ._transport import AppSyncIAMTransport

__version__ = "0.1.0.dev0"

__all__ = [
    "AdaptiveRateLimiter",
    "AppSyncClient",
    "AppSyncEndpoint",
    "AppSyncError",
    "AppSyncIAMTransport",
    "AuthorizationError",
    "BatchResult",
    "BotocoreCredentials",
    "CallableCredentials",
    "ConfigurationError",
    "ConnectionEvent",
    "ConnectionState",
    "CredentialSource",
    "CredentialsError",
    "DefaultCredentials",
    "EnvironmentCredentials",
    "FrozenCredentials",
    "GraphQLResponseError",
    "HTTPStatusError",
    "ProtocolError",
    "RealtimeClient",
    "RealtimeOptions",
    "RequestTimeout",
    "RetryPolicy",
    "SigV4ASigner",
    "SigV4Signer",
    "StaticCredentials",
    "SubscriptionError",
    "ThrottlingError",
    "TokenBucket",
    "TransportError",
]

_LAZY = frozenset({"AppSyncIAMTransport"})


def _public(obj: _typing.Any) -> _typing.Any:
    # Reprs and tracebacks say appsync_iam.X, not appsync_iam._module.X.
    if getattr(obj, "__module__", "").startswith("appsync_iam._"):
        obj.__module__ = "appsync_iam"
    return obj


def __getattr__(name: str) -> _typing.Any:
    if name == "AppSyncIAMTransport":
        from ._transport import AppSyncIAMTransport

        globals()[name] = _public(AppSyncIAMTransport)
        return AppSyncIAMTransport
    raise AttributeError(f"module 'appsync_iam' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _LAZY)


for _name in __all__:
    if _name not in _LAZY:
        _public(globals()[_name])
del _name
