"""A local AWS AppSync that really verifies IAM (SigV4) signatures.

:class:`AppSyncEmulator` serves a GraphQL schema over HTTP (``POST /graphql``)
and the real-time WebSocket protocol (``/graphql/realtime``). Every request
is verified with botocore, independently of this library's own signer, and
rejected the way AppSync rejects it (status, ``errorType``, message). Faults
(throttling, 5xx, connection resets, latency, WebSocket drops) can be
injected at runtime through :attr:`AppSyncEmulator.faults`.

Example::

    from appsync_iam.emulator import AppSyncEmulator

    async with AppSyncEmulator("schema.graphql") as emulator:  # or "chat"
        # emulator.url, emulator.realtime_url, emulator.region,
        # emulator.credentials (AKIDEXAMPLE / wJalrXUtnFEMI/...EXAMPLEKEY)
        temporary = emulator.add_principal("AKIDTEMP", "secret", token="token")
        emulator.faults.throttle_rate = 0.1
        ...
        assert len(emulator.executed) == 3
        # What clients requested (path and query string), e.g. to check that
        # no URL carries a credential; emulator.principals: the accepted keys.
        assert all("?" not in r.path_qs for r in emulator.requests)

How ``POST /graphql`` answers (protocol doc §1.4; status, ``errorType``):

- no ``Authorization``: 401 ``UnauthorizedException``; a malformed one, a
  missing or unparseable ``x-amz-date``, ``SignedHeaders`` without ``host``
  or ``x-amz-date``, or a signed header that was not sent: 403
  ``IncompleteSignatureException``;
- unknown key id, or a session token missing, different or unexpected:
  403 ``UnrecognizedClientException``; a token past its expiry: 403
  ``ExpiredTokenException``;
- wrong signature, credential scope (date, region, service) or a clock more
  than 5 minutes off: 403 ``InvalidSignatureException`` (a bad signature
  echoes the expected canonical request, session token redacted);
- an empty body or one that is not a GraphQL request: 400
  ``MalformedHttpRequestException``; several operations without
  ``operationName``: 400 ``BadRequestException``; GraphQL errors: 200.

Assumptions where AppSync's behaviour is not documented (protocol doc §7):
a present ``x-amz-content-sha256`` that is not the body's SHA-256 (or is
``UNSIGNED-PAYLOAD``) gets 400 ``XAmzContentSHA256Mismatch``, as S3 answers
(open question 5); a session token must be among the signed headers; skew is
403 ``InvalidSignatureException`` (open question 2: AppSync has also been
seen answering 400 ``BadRequestException``); the throttling fault answers 429
``TooManyRequestsException`` (open question 1, settable through
``Faults.throttle_error_type``). Responses carry a ``Date`` header from the
emulator's clock (``clock_offset`` included), so clients can correct skew.

:class:`SigV4Server` verifies SigV4 for any service (S3, API Gateway, Lambda
function URLs, OpenSearch...), any path and method, answers bad signatures
like that service, and echoes, streams, or proxies to your app::

    async with SigV4Server(service="execute-api") as server:
        ...  # sign for server.region with server.credentials, call server.url

Events API (AppSync Events, events-api.md): ``AppSyncEmulator(schema,
event_namespaces=("default", "chat"))`` also serves ``POST /event`` (HTTP
publish, :attr:`AppSyncEmulator.events_url`) and ``/event/realtime``
(:attr:`AppSyncEmulator.events_realtime_url`: subprotocol
``aws-appsync-event-ws``, IAM in a ``header-<base64url>`` subprotocol or on
the upgrade request's headers). Connect, ``subscribe`` and ``publish`` are
verified with botocore over the virtual ``POST https://<http host>/event``
with bodies ``{}``, ``{"channel":C}`` and ``{"channel":C,"events":[...]}``
(compact, raw UTF-8); errors are top-level ``errors`` arrays of
``{errorType, message}`` (``connection_error``, ``subscribe_error``,
``publish_error``, ``unsubscribe_error``, ``error``). Channels are checked
(1–5 segments of ``[A-Za-z0-9-]``, ≤ 50 each, namespace defined, ``/*``
only to subscribe and matching every channel strictly below), 1–5 events per
publish, each a JSON string of ≤ 240 KB (an oversize one is ``failed`` with
code 400, or dropped silently with ``emulator.events.oversize = "drop"``).
``publish_success`` and the HTTP answer list ``successful``/``failed`` with
indices; ``faults.fail_event_indices`` / ``event_failure_rate`` make events
fail; ``faults.drop_ws_every_s``, ``withhold_ka`` and ``throttle_rate`` apply
too. ``emulator.published`` lists the accepted :class:`PublishedEvent`;
``Principal.deny`` entries ``"EventConnect"``, ``"EventPublish[:ns]"`` and
``"EventSubscribe[:ns]"`` emulate IAM policies. Undocumented and chosen here:
HTTP statuses (400 ``BadRequestException`` for bad input, 404
``ResourceNotFound`` for an unknown namespace, signatures as for
``/graphql``), WebSocket input errors as ``InvalidInputError``, whether
``/*`` counts as a segment (no), ``ka`` without ``connection_init`` (yes),
100 subscriptions per connection, ``publish_success`` sent before the
events' ``data`` frames.

From sync code: ``with AppSyncEmulator(schema).run_in_thread() as emulator:``.
In pytest: ``pytest_plugins = ["appsync_iam.emulator.pytest_plugin"]`` gives
the ``appsync_emulator`` fixture. From a shell:
``appsync-iam emulator --schema chat``.
"""

from __future__ import annotations

from ._engine import AppSyncResolverError, ExecutedOperation
from ._events import PublishedEvent
from ._faults import Faults
from ._principal import Principal
from ._samples import available_samples, sample_schema_path
from ._server import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    AppSyncEmulator,
    ReceivedRequest,
)
from ._sigv4_server import VERIFICATION_KEY, SigV4Request, SigV4Server
from ._sigv4a import sigv4a_public_key, verify_sigv4a
from ._verifier import SignatureRejected, SigV4Verifier, Verification

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_SECRET_KEY",
    "VERIFICATION_KEY",
    "AppSyncEmulator",
    "AppSyncResolverError",
    "ExecutedOperation",
    "Faults",
    "Principal",
    "PublishedEvent",
    "ReceivedRequest",
    "SigV4Request",
    "SigV4Server",
    "SigV4Verifier",
    "Verification",
    "SignatureRejected",
    "available_samples",
    "sample_schema_path",
    "sigv4a_public_key",
    "verify_sigv4a",
]

# Reprs and tracebacks say appsync_iam.emulator.X, not ..._server.X.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("appsync_iam.emulator._"):
        _obj.__module__ = "appsync_iam.emulator"
del _name, _obj
