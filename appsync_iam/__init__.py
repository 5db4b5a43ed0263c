"""appsync_iam: an async client for AWS AppSync APIs protected by IAM (SigV4).

The public names are re-exported here; the modules are private.
"""

from __future__ import annotations

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
from ._realtime import (
    ConnectionEvent,
    ConnectionState,
    RealtimeClient,
    RealtimeOptions,
)
from ._retry import RetryPolicy
from ._signer import SigV4Signer
from ._transport import AppSyncIAMTransport

__version__ = "0.1.0.dev0"

__all__ = [
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
    "SigV4Signer",
    "StaticCredentials",
    "SubscriptionError",
    "ThrottlingError",
    "TransportError",
]

# Reprs and tracebacks say appsync_iam.X, not appsync_iam._module.X.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("appsync_iam._"):
        _obj.__module__ = "appsync_iam"
del _name, _obj
