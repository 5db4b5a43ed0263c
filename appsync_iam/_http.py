"""The signed HTTP path, without gql: what every request goes through.

One HTTP request (architecture.md, data flow): payload serialized once →
credentials snapshot → ``signer.sign`` over exactly those bytes → one POST
of those bytes (over the lean keep-alive pool of ``_h1.py``; through
aiohttp's ``ClientSession.post`` when ``client_session_args`` or
per-request aiohttp arguments are given) → JSON → data, or a typed error →
the retry policy decides (every attempt is signed afresh).

:class:`SignedHTTP` is shared by the facade (``AppSyncClient``, one per event
loop) and by gql's ``AppSyncIAMTransport`` (which wraps one). It imports
neither gql nor graphql-core: a Lambda cold start that only uses the facade
never loads them (~180 ms, more than the whole rest of the library).
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal

import aiohttp
import yarl

from ._credentials import CredentialSource, FrozenCredentials, as_credential_source
from ._endpoint import AppSyncEndpoint
from ._errors import (
    AppSyncError,
    AuthorizationError,
    ConfigurationError,
    GraphQLResponseError,
    HTTPStatusError,
    ProtocolError,
    RequestTimeout,
    ThrottlingError,
    TransportError,
    excerpt,
    redact,
)
from ._h1 import H1Pool
from ._rate import TokenBucket
from ._realtime import RealtimeClient, RealtimeOptions, check_realtime_options
from ._retry import (
    Action,
    Attempt,
    Failure,
    RetryPolicy,
    classify,
    decide,
    parse_http_date,
    parse_retry_after,
)
from ._signer import SigV4Signer

__all__ = [
    "RealtimeAuth",
    "SignedHTTP",
    "decode_answer",
    "encode_payload",
    "encode_request",
    "lower_headers",
]

logger = logging.getLogger("appsync_iam.http")

RealtimeAuth = Literal["subprotocol", "query"]

# Compact, UTF-8, no NaN (not JSON): the bytes signed are the bytes sent.
_ENCODER: Final = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_ASCII_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
_AUTH_ERROR_TYPES: Final = frozenset(
    {
        "AccessDeniedException",
        "AuthFailure",
        "ExpiredTokenException",
        "IncompleteSignatureException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "MissingAuthenticationTokenException",
        "SignatureDoesNotMatch",
        "UnauthorizedException",
        "UnrecognizedClientException",
    }
)
_THROTTLING_MARKERS: Final = ("Throttl", "TooManyRequests", "LimitExceeded")
_OWNED_POST_ARGS: Final = frozenset({"data", "json", "allow_redirects", "ssl"})
_LARGE_BODY: Final = 1 << 20  # aiohttp's limit for raw bytes bodies


_orjson: Any
try:  # the `fast` extra: ~5x faster encoding and parsing of small bodies
    import orjson as _orjson  # type: ignore[no-redef, unused-ignore]
except ImportError:  # tested in a subprocess that hides orjson
    _orjson = None

_HEADS: dict[tuple[str, str | None], bytes] = {}  # '{"query":...' per operation
_MAX_HEADS: Final = 512
_SCALARS: Final = frozenset({str, bool, type(None)})
_INT64: Final = 1 << 63


def _plain(value: Any, depth: int = 0) -> bool:
    """True when orjson writes ``value`` as the stdlib would (the same JSON).

    orjson also takes what the stdlib refuses (uuid.UUID, enums, datetimes,
    dataclasses, NaN as null) and refuses some of what it takes (str
    subclasses as keys, ints beyond 64 bits): those go to the stdlib, which
    keeps its exact output and errors.
    """
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is int:
        return bool(-_INT64 <= value < _INT64)
    if kind is float:
        return math.isfinite(value)
    if depth > 100:
        return False
    if kind is dict:
        return all(type(k) is str and _plain(v, depth + 1) for k, v in value.items())
    if kind is list:
        return all(_plain(v, depth + 1) for v in value)
    return False


def _encode_value(value: Any) -> bytes | None:
    """``value`` as compact JSON (None: a lone surrogate, which only the
    all-ASCII encoding of the whole payload carries)."""
    if _orjson is not None and _plain(value):
        try:
            out: bytes = _orjson.dumps(value)
            return out
        except TypeError:  # JSONEncodeError: a lone surrogate
            pass
    try:
        return _ENCODER.encode(value).encode()
    except UnicodeEncodeError:
        return None


def _head(query: str, operation_name: str | None) -> bytes | None:
    """``{"query":...[,"operationName":...]`` (no closing brace), cached."""
    payload = {"query": query}
    if operation_name:
        payload["operationName"] = operation_name
    try:
        head = _ENCODER.encode(payload)[:-1].encode()
    except UnicodeEncodeError:
        return None
    if len(_HEADS) >= _MAX_HEADS:
        _HEADS.clear()
    _HEADS[(query, operation_name)] = head
    return head


def encode_request(
    query: str,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> bytes:
    """The request body, with the query's part serialized once per operation.

    Without orjson, byte for byte what :func:`encode_payload` gives for the
    same payload; with it, the same JSON (floats may be written differently,
    e.g. ``1e-5`` for ``1e-05``). Variables JSON cannot carry raise
    :class:`ConfigurationError` either way.
    """
    head = _HEADS.get((query, operation_name)) or _head(query, operation_name)
    try:
        if head is not None:
            parts = [head]
            for name, value in ((b',"variables":', variables),
                                (b',"extensions":', extensions)):  # fmt: skip
                if value:
                    encoded = _encode_value(value)
                    if encoded is None:
                        break
                    parts += (name, encoded)
            else:
                parts.append(b"}")
                return b"".join(parts)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _not_json(exc) from None
    payload: dict[str, Any] = {"query": query}
    if operation_name:
        payload["operationName"] = operation_name
    if variables:
        payload["variables"] = variables
    if extensions:
        payload["extensions"] = extensions
    return encode_payload(payload)


def decode_answer(raw: bytes) -> Any:
    """The answer's JSON (orjson when installed; what it refuses, such as
    ``NaN`` or a lone surrogate escape, is parsed by the stdlib)."""
    if _orjson is not None:
        try:
            return _orjson.loads(raw)
        except ValueError:
            pass
    return json.loads(raw)


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The request body: compact JSON in UTF-8, serialized exactly once.

    Variables JSON cannot carry (a set, bytes, NaN, a cycle) raise
    :class:`ConfigurationError`: nothing is sent.
    """
    try:
        try:
            return _ENCODER.encode(payload).encode()
        except UnicodeEncodeError:  # a lone surrogate: only \u escapes survive
            return _ASCII_ENCODER.encode(payload).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise _not_json(exc) from None


def _not_json(exc: BaseException) -> ConfigurationError:
    """The error for variables that cannot be serialized (the value is not shown)."""
    return ConfigurationError(
        f"the variables cannot be sent as JSON ({type(exc).__name__}: "
        f"{str(exc)[:120]}); nothing was sent"
    )


# --- responses -> typed errors ------------------------------------------------


def _first_error(body: Any) -> tuple[str | None, str | None]:
    """(errorType, message) of an AppSync error body, if it is one."""
    if not isinstance(body, dict):
        return None, None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return _str_or_none(first.get("errorType")), _str_or_none(first.get("message"))
    kind = _str_or_none(body.get("__type") or body.get("errorType"))
    message = _str_or_none(body.get("message") or body.get("Message"))
    return (kind.rsplit("#", 1)[-1] if kind else None), message


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _is_throttling(error_type: str | None) -> bool:
    if not error_type:
        return False
    return any(marker in error_type for marker in _THROTTLING_MARKERS)


def status_error(
    status: int, headers: Mapping[str, str], raw: bytes
) -> HTTPStatusError | ProtocolError:
    """The typed error for a non-200 answer (protocol doc §1.4)."""
    request_id = headers.get("x-amzn-RequestId")
    header_type = headers.get("x-amzn-ErrorType")
    if header_type:
        header_type = header_type.split(":", 1)[0].strip() or None
    text = raw.decode("utf-8", "replace")
    try:
        body = json.loads(text) if text.strip() else None
    except (ValueError, RecursionError):  # RecursionError: absurdly deep JSON
        if status >= 500 or status < 300:
            return ProtocolError(
                f"HTTP {status} answer is not JSON: {excerpt(text, 120)}", sent=True
            )
        body = None
    body_type, message = _first_error(body)
    error_type = body_type or header_type
    if 300 <= status < 400:
        location = excerpt(headers.get("Location", "?"), 120)
        message = f"redirect to {location} not followed (a signed request stays put)"
    elif message is None:
        message = excerpt(text, 120) if text.strip() and body is None else "no message"
    else:
        message = excerpt(message)
    retry_after = parse_retry_after(
        headers.get("Retry-After"), parse_http_date(headers.get("Date"))
    )
    cls: type[HTTPStatusError] = HTTPStatusError
    if status == 429 or _is_throttling(error_type):
        cls = ThrottlingError
    elif status in (401, 403) or error_type in _AUTH_ERROR_TYPES:
        cls = AuthorizationError
    elif status == 400 and "Signature" in message:  # skew as BadRequestException
        cls = AuthorizationError
    return cls(
        message,
        status=status,
        error_type=error_type,
        request_id=request_id,
        retry_after=retry_after,
    )


def graphql_error(result: dict[str, Any], request_id: str | None) -> AppSyncError:
    """The error for an HTTP 200 answer with ``errors`` (partial ``data`` kept)."""
    errors = result["errors"]
    if not isinstance(errors, list) or not all(isinstance(e, dict) for e in errors):
        return ProtocolError(f"malformed 'errors' in answer: {excerpt(str(errors))}")
    first = errors[0]
    message = excerpt(str(first.get("message", "GraphQL error")))
    if first.get("errorType"):
        message = f"{first['errorType']}: {message}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return GraphQLResponseError(
        message, errors=errors, data=result.get("data"), request_id=request_id
    )


def transport_error(exc: BaseException, timeout: float | None) -> TransportError:
    """Our error for an aiohttp/asyncio failure; ``sent`` when it may have run."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return RequestTimeout(f"connect timed out: {redact(str(exc))}", sent=False)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return RequestTimeout(f"no answer within {timeout} s", sent=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransportError(f"cannot connect: {redact(str(exc))}", sent=False)
    detail = redact(str(exc)) or "connection closed"
    return TransportError(f"{type(exc).__name__}: {detail}", sent=True)


# --- the signed request path ----------------------------------------------------


class _SkewClock:
    """The clock seam plus the offset learned from AppSync (shared by forks)."""

    __slots__ = ("clock", "offset")

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.offset = 0.0


class SignedHTTP:
    """Signed POSTs to one AppSync API over one aiohttp session, with retries.

    Holds the endpoint, credential source, signer, retry policy and learned
    clock offset; :meth:`fork` makes a twin sharing them (the credentials'
    single-flight refresh and the clock offset included) for another event
    loop, since an aiohttp session belongs to the loop it was created on.
    Also what :class:`RealtimeClient` signs its connections with.
    """

    def __init__(
        self,
        url: str,
        *,
        region: str | None = None,
        credentials: object = None,
        profile: str | None = None,
        realtime_url: str | None = None,
        realtime_auth: RealtimeAuth = "subprotocol",
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        headers: Mapping[str, str] | None = None,
        max_connections: int = 100,
        client_session_args: dict[str, Any] | None = None,
        realtime_options: RealtimeOptions | None = None,
    ) -> None:
        endpoint = AppSyncEndpoint.from_url(
            url, region=region, realtime_url=realtime_url
        )
        _check_options(realtime_auth, timeout, max_connections, retry)
        self.endpoint: AppSyncEndpoint = endpoint
        self.url: str = endpoint.graphql_url
        self._yarl_url = yarl.URL(self.url)  # parsed once, not per request
        self.credentials: CredentialSource = as_credential_source(
            credentials, profile=profile
        )
        # SigV4 only, on purpose: AppSync documents IAM authorization as
        # Signature Version 4 (its API reference lists X-Amz-Algorithm
        # AWS4-HMAC-SHA256 only; botocore's appsync model has auth
        # ["aws.auth#sigv4"], where STS lists sigv4a too). Whether it accepts
        # SigV4A is undocumented, so SigV4ASigner is not offered here.
        self.signer = SigV4Signer(endpoint.region)
        self.retry: RetryPolicy = retry if retry is not None else RetryPolicy()
        self.realtime_auth: RealtimeAuth = realtime_auth
        self.request_timeout = float(timeout)
        self.max_connections = max_connections
        self.client_session_args = client_session_args
        self.session: aiohttp.ClientSession | None = None
        # The POSTs' connection pool; None: through the aiohttp session
        # (client_session_args given). See _h1.py for why.
        self._pool: H1Pool | None = None
        self.response_headers: Mapping[str, str] | None = None
        self._skew = _SkewClock(clock)
        self._base_headers: dict[str, str] = {"content-type": "application/json"}
        self._base_headers.update(lower_headers(headers))
        self._refresh_lock: asyncio.Lock | None = None
        self._realtime: RealtimeClient | None = None
        self._realtime_options = check_realtime_options(realtime_options)

    def __repr__(self) -> str:
        return (
            f"SignedHTTP(url={self.endpoint.graphql_url!r}, "
            f"region={self.endpoint.region!r})"
        )

    # --- signing ----------------------------------------------------------------

    def now(self) -> float:
        """Epoch seconds to sign with: the clock plus the learned AppSync offset."""
        skew = self._skew
        return skew.clock() + skew.offset

    @property
    def clock_offset(self) -> float:
        """Seconds added to the local clock, learned from a skew rejection."""
        return self._skew.offset

    def local_time(self) -> float:
        """The clock seam, without the learned offset."""
        return self._skew.clock()

    def sign_request(
        self,
        body: bytes,
        credentials: FrozenCredentials,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """The headers of one signed POST of ``body`` to the GraphQL URL (pure).

        Every attempt is signed here, afresh. No x-amz-content-sha256: AppSync
        does not need it, and neither botocore nor amplify sends it (protocol
        doc §1.3).
        """
        base = self._base_headers if not headers else {**self._base_headers, **headers}
        return self.signer.sign(
            "POST",
            self.url,
            base,
            body,
            credentials,
            now=self.now(),
            include_content_sha256=False,
        )

    def learn_clock_offset(self, offset: float) -> None:
        """Sign with ``offset`` seconds added to the clock from now on.

        Called when AppSync rejects a signature as expired or not yet current
        (over HTTP, or on a real-time handshake); see :attr:`clock_offset`.
        """
        if abs(offset - self._skew.offset) >= 1.0:
            logger.warning(
                "Clock skew: AppSync's clock is %+.0f s from ours; signing with "
                "that offset from now on",
                offset,
            )
        self._skew.offset = offset

    # --- lifecycle ------------------------------------------------------------------

    def open_session(self) -> aiohttp.ClientSession:
        """Create the session now, on the running loop (no await: no race)."""
        args: dict[str, Any] = {
            "connector": aiohttp.TCPConnector(limit=self.max_connections),
            "timeout": aiohttp.ClientTimeout(total=self.request_timeout),
            # AppSync sets no cookies; skip the jar's work on every request.
            "cookie_jar": aiohttp.DummyCookieJar(),
        }
        if self.client_session_args:
            args.update(self.client_session_args)
        logger.debug("Opening HTTP session to %s", self.url)
        session = aiohttp.ClientSession(**args)
        self.session = session
        if self.client_session_args is None:
            self._pool = H1Pool(self._yarl_url, limit=self.max_connections)
        self._refresh_lock = asyncio.Lock()
        return session

    def fork(self) -> SignedHTTP:
        """An unconnected twin sharing credentials, signer and clock offset."""
        twin = copy.copy(self)
        twin.session = None
        twin._pool = None
        twin.response_headers = None
        twin._refresh_lock = None
        twin._realtime = None
        return twin

    @property
    def realtime(self) -> RealtimeClient:
        """The real-time connections signed by this object (created on first use)."""
        if self._realtime is None:
            self._realtime = RealtimeClient(self, **self._realtime_options)
        return self._realtime

    async def close_realtime(self) -> None:
        """Close the real-time connections (the HTTP session stays open)."""
        realtime, self._realtime = self._realtime, None
        if realtime is not None:
            await realtime.close()

    async def close_pool(self) -> None:
        """Close the POSTs' connections (the aiohttp session stays open)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def close(self) -> None:
        """Close the real-time connections, then the HTTP session."""
        await self.close_realtime()
        await self.close_pool()
        session, self.session = self.session, None
        if session is not None:
            logger.debug("Closing HTTP session to %s", self.url)
            await session.close()

    # --- the hot path -----------------------------------------------------------------

    async def request(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        is_mutation: bool = True,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
        post_args: dict[str, Any] | None = None,
        limiter: TokenBucket | None = None,
    ) -> dict[str, Any]:
        """POST one GraphQL request with retries; the answer's JSON object.

        ``headers`` must have lowercase names. Raises the typed errors of
        ``appsync_iam``; ``is_mutation`` decides what is safe to retry.
        ``limiter`` paces every attempt and hears whether it was throttled.
        """
        body = encode_request(query, operation_name, variables, extensions)
        return await self.post(
            body,
            None,
            is_mutation=is_mutation,
            headers=headers,
            post_args=post_args,
            name=operation_name,
            limiter=limiter,
        )

    async def post(
        self,
        body: bytes,
        parse: Callable[[bytes, Mapping[str, str]], dict[str, Any]] | None,
        *,
        is_mutation: bool = True,
        headers: Mapping[str, str] | None = None,
        post_args: dict[str, Any] | None = None,
        name: str | None = None,
        limiter: TokenBucket | None = None,
    ) -> dict[str, Any]:
        """POST ``body`` to the URL, signed afresh at every attempt, with retries.

        ``parse`` turns a 2xx answer into the result or raises an
        :class:`AppSyncError` (a ``ProtocolError`` follows the retry policy);
        ``None`` reads a GraphQL result (inline: the GraphQL hot path).
        Non-2xx answers and transport failures follow the retry policy
        (``is_mutation``: not idempotent).
        """
        session = self.session
        if session is None:
            raise RuntimeError("the HTTP session is not open")
        extra = post_args or {}
        attempt, refreshed, skewed, started = 1, False, False, time.monotonic()
        while True:
            credentials = await self.credentials.get_frozen()
            if limiter is not None:
                sent_at = await limiter.acquire()
            signed = self.sign_request(body, credentials, headers)
            try:
                result = await self._attempt(session, body, signed, extra, parse)
            except _Retryable as failed:
                if limiter is not None:
                    throttled = failed.failure is Failure.THROTTLED
                    limiter.record(sent_at, throttled=throttled)
                state = Attempt(
                    failure=failed.failure,
                    attempt=attempt,
                    elapsed=time.monotonic() - started,
                    is_mutation=is_mutation,
                    local_time=self._skew.clock(),
                    server_time=failed.server_time,
                    message=str(failed.error.args[0]) if failed.error.args else "",
                    retry_after=getattr(failed.error, "retry_after", None),
                    refreshed=refreshed,
                    skew_corrected=skewed,
                )
                decision = decide(state, self.retry)
                action = decision.action
                if action is Action.RAISE:
                    raise failed.error from failed.error.__cause__
                if action is Action.RETRY:
                    attempt += 1
                    logger.debug(
                        "Retrying %s in %.3f s (attempt %d of %d): %s",
                        name or "operation",
                        decision.delay,
                        attempt,
                        self.retry.max_attempts,
                        failed.error,
                    )
                    await asyncio.sleep(decision.delay)
                elif action is Action.REFRESH_CREDENTIALS:
                    refreshed = True
                    if not await self._refresh_after_rejection(credentials):
                        # The source has nothing newer: a retry would be
                        # rejected the same way.
                        raise failed.error from failed.error.__cause__
                else:
                    skewed = True
                    self.learn_clock_offset(decision.offset)
            except AppSyncError:  # an answer, not a throttle (GraphQL errors...)
                if limiter is not None:
                    limiter.record(sent_at, throttled=False)
                raise
            else:
                if limiter is not None:
                    limiter.record(sent_at, throttled=False)
                return result

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        body: bytes,
        signed: dict[str, str],
        extra: dict[str, Any],
        parse: Callable[[bytes, Mapping[str, str]], dict[str, Any]] | None,
    ) -> dict[str, Any]:
        pool = self._pool
        headers: Mapping[str, str]
        try:
            if pool is not None and not extra:  # the lean path (_h1.py)
                answer = await pool.post(signed, body, self.request_timeout)
                raw, status, headers = answer.body, answer.status, answer.headers
            else:
                # aiohttp warns (ResourceWarning) about raw bytes over 1 MiB: it
                # would write them at once; a BytesIO of them goes in chunks.
                data = body if len(body) <= _LARGE_BODY else io.BytesIO(body)
                async with session.post(
                    self._yarl_url,
                    data=data,
                    headers=signed,
                    allow_redirects=False,
                    **extra,
                ) as response:
                    raw = await response.read()
                    status = response.status
                    headers = response.headers
        except TransportError as ours:  # from the pool: already ours
            raise _Retryable(ours, classify(ours), None) from None
        except (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError) as exc:
            failed = transport_error(exc, self.request_timeout)
            failed.__cause__ = exc
            raise _Retryable(failed, classify(failed), None) from None
        self.response_headers = headers
        if 200 <= status < 300:
            if parse is not None:
                try:
                    return parse(raw, headers)
                except ProtocolError as malformed:  # retried as GraphQL's are
                    error: AppSyncError = malformed
            else:
                try:
                    result = decode_answer(raw)
                except (ValueError, RecursionError):  # RecursionError: absurdly deep
                    result = None
                if type(result) is dict:
                    if result.get("errors"):
                        raise graphql_error(result, headers.get("x-amzn-RequestId"))
                    if type(result.get("data")) is dict:
                        return result
                error = ProtocolError(
                    "answer is not a GraphQL result: "
                    f"{excerpt(raw.decode('utf-8', 'replace'), 120)}",
                    sent=True,
                )
        else:
            error = status_error(status, headers, raw)
        failure = classify(error)
        if failure is Failure.FATAL:
            raise error
        server_time = parse_http_date(headers.get("Date"))
        raise _Retryable(error, failure, server_time)

    async def _refresh_after_rejection(self, rejected: FrozenCredentials) -> bool:
        """Make sure the next attempt signs with credentials other than ``rejected``.

        Many requests fail at once with the same expired or revoked
        credentials: one refresh serves them all. False when the source has
        nothing newer (static keys), so retrying is pointless.
        """
        lock = self._refresh_lock or asyncio.Lock()
        async with lock:
            current = await self.credentials.get_frozen()
            if current == rejected:
                logger.info(
                    "Credentials of %s were rejected (expired or unknown); "
                    "refreshing them",
                    rejected.access_key,
                )
                current = await self.credentials.refresh()
            return current != rejected


class _Retryable(Exception):
    """Internal: a failed attempt the retry policy looks at."""

    def __init__(
        self, error: AppSyncError, failure: Failure, server_time: float | None
    ) -> None:
        super().__init__()
        self.error = error
        self.failure = failure
        self.server_time = server_time


def lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {name.lower(): value for name, value in (headers or {}).items()}


def _check_options(
    realtime_auth: str, timeout: float, max_connections: int, retry: object
) -> None:
    if realtime_auth not in ("subprotocol", "query"):
        raise ConfigurationError(
            f"realtime_auth must be 'subprotocol' or 'query', not {realtime_auth!r}"
        )
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ConfigurationError(
            f"timeout must be a positive, finite number of seconds, not {timeout!r}"
        )
    if max_connections < 1:
        raise ConfigurationError("max_connections must be at least 1")
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError("retry must be a RetryPolicy or None")
