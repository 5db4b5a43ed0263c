"""appsync_iam: an async client for AWS AppSync APIs protected by IAM (SigV4).

The public names are re-exported here; the modules are private.

Importing the package loads only the credential sources and the errors; the
client's modules load on first access to their names (PEP 562), so
``import appsync_iam.emulator`` loads none of the client's signing or HTTP
code. ``AppSyncIAMTransport`` (gql's transport) imports gql and
graphql-core, which the rest of the library never needs, and which would
otherwise be most of a Lambda cold start.
"""

from __future__ import annotations

import importlib as _importlib
import sys as _sys
import typing as _typing

# Loaded with the package: what the emulator shares with the client (value
# types and errors), cheap and free of the client's signing code.
from ._credentials import (
    BotocoreCredentials,
    CallableCredentials,
    CredentialSource,
    DefaultCredentials,
    EnvironmentCredentials,
    FrozenCredentials,
    StaticCredentials,
)
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
    UnsignableRequestError,
)

if _typing.TYPE_CHECKING:
    from ._aiohttp_auth import AiohttpSigV4Middleware
    from ._batch import BatchResult
    from ._client import AppSyncClient
    from ._endpoint import AppSyncEndpoint
    from ._events import (
        AppSyncEventsEndpoint,
        FailedEvent,
        PublishError,
        PublishResult,
        SuccessfulEvent,
    )
    from ._events_client import AppSyncEventsClient, EventsRealtimeOptions
    from ._http_auth import presign_url, presign_url_async
    from ._httpx_auth import HttpxSigV4Auth
    from ._rate import AdaptiveRateLimiter, TokenBucket
    from ._realtime import (
        ConnectionEvent,
        ConnectionState,
        RealtimeClient,
        RealtimeOptions,
    )
    from ._requests_auth import RequestsSigV4Auth
    from ._retry import RetryPolicy
    from ._signer import SigV4Signer
    from ._sigv4a import SigV4ASigner
    from ._transport import AppSyncIAMTransport

__version__ = "0.1.0.dev0"

__all__ = [
    "AdaptiveRateLimiter",
    "AiohttpSigV4Middleware",
    "AppSyncClient",
    "AppSyncEndpoint",
    "AppSyncError",
    "AppSyncEventsClient",
    "AppSyncEventsEndpoint",
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
    "EventsRealtimeOptions",
    "FailedEvent",
    "FrozenCredentials",
    "GraphQLResponseError",
    "HTTPStatusError",
    "HttpxSigV4Auth",
    "ProtocolError",
    "PublishError",
    "PublishResult",
    "RealtimeClient",
    "RealtimeOptions",
    "RequestTimeout",
    "RequestsSigV4Auth",
    "RetryPolicy",
    "SigV4ASigner",
    "SigV4Signer",
    "StaticCredentials",
    "SubscriptionError",
    "SuccessfulEvent",
    "ThrottlingError",
    "TokenBucket",
    "TransportError",
    "UnsignableRequestError",
    "presign_url",
    "presign_url_async",
]

# Loaded on first access (PEP 562): the client's modules. So
# ``import appsync_iam.emulator`` loads none of the client's signing or HTTP
# code (the emulator must not verify with the code it checks), and
# AppSyncIAMTransport's gql and graphql-core load only when it is used.
_LAZY: dict[str, str] = {
    "AdaptiveRateLimiter": "._rate",
    "AiohttpSigV4Middleware": "._aiohttp_auth",
    "AppSyncClient": "._client",
    "AppSyncEndpoint": "._endpoint",
    "AppSyncEventsClient": "._events_client",
    "AppSyncEventsEndpoint": "._events",
    "AppSyncIAMTransport": "._transport",
    "BatchResult": "._batch",
    "ConnectionEvent": "._realtime",
    "ConnectionState": "._realtime",
    "EventsRealtimeOptions": "._events_client",
    "FailedEvent": "._events",
    "HttpxSigV4Auth": "._httpx_auth",
    "PublishError": "._events",
    "PublishResult": "._events",
    "RealtimeClient": "._realtime",
    "RealtimeOptions": "._realtime",
    "RequestsSigV4Auth": "._requests_auth",
    "RetryPolicy": "._retry",
    "SigV4ASigner": "._sigv4a",
    "SigV4Signer": "._signer",
    "SuccessfulEvent": "._events",
    "TokenBucket": "._rate",
    "presign_url": "._http_auth",
    "presign_url_async": "._http_auth",
}


def _public(obj: _typing.Any) -> _typing.Any:
    # Reprs and tracebacks say appsync_iam.X, not appsync_iam._module.X.
    if getattr(obj, "__module__", "").startswith("appsync_iam._"):
        obj.__module__ = "appsync_iam"
    return obj


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'appsync_iam' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    # Name every public object of the modules loaded so far, not only this
    # one: a class a loaded module uses may be shown before it is asked for.
    for other, where in _LAZY.items():
        loaded = _sys.modules.get(__name__ + where)
        if loaded is not None and other not in globals():
            globals()[other] = _public(getattr(loaded, other))
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


for _name in __all__:
    if _name not in _LAZY:
        _public(globals()[_name])
del _name
