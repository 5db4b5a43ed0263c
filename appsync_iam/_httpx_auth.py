"""SigV4 for httpx: an ``httpx.Auth`` with sync and async flows.

Loaded lazily by ``appsync_iam.HttpxSigV4Auth``: importing appsync_iam does
not import httpx (``pip install 'appsync-iam[httpx]'``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Final

import httpx

from ._credentials import FrozenCredentials
from ._http_auth import (
    SIGNATURE_HEADERS,
    AdapterBase,
    given_payload_hash,
    hash_bytes,
    is_seekable_file,
    pairs_to_sign,
)
from ._signer import UNSIGNED_PAYLOAD

__all__ = ["HttpxSigV4Auth"]


class HttpxSigV4Auth(AdapterBase, httpx.Auth):
    """Signs every httpx request with SigV4 for one service and region.

    Use as ``httpx.Client(auth=...)``, ``httpx.AsyncClient(auth=...)`` or per
    request (``client.get(url, auth=...)``, ``client.stream(...)``)::

        auth = HttpxSigV4Auth("execute-api", "eu-west-1")
        httpx.get("https://abc.execute-api.eu-west-1.amazonaws.com/prod/", auth=auth)

    ``credentials`` takes what :class:`AppSyncClient` takes (default: the
    default chain; ``profile`` names a profile). ``region`` defaults to
    ``AWS_REGION``/``AWS_DEFAULT_REGION``. Bodies: bytes are hashed; a
    seekable binary file is hashed, rewound and streamed; a one-shot
    (async) iterator is buffered up to ``max_buffer`` bytes, or sent with
    ``UNSIGNED-PAYLOAD`` when ``unsigned_payload=True``. Anything else raises
    :class:`UnsignableRequestError` before sending.

    Redirects (``follow_redirects=True``): httpx follows them without calling
    the auth again and copies every header but ``Authorization`` to a hop on
    another origin (the session token included). So the auth also installs
    httpcore's documented ``trace`` extension on the request (chaining one
    you set), which sees each hop as it is written to the connection: a hop
    to another origin (scheme, host, port) is sent without
    ``Authorization``, ``X-Amz-Security-Token``, ``X-Amz-Date`` and
    ``x-amz-content-sha256``; a hop to the same origin is signed again for
    its method and URL (its body: the signed bytes, or the empty body of a
    303/302/301 turned into GET), or sent unsigned when its body cannot be
    known (a file or stream already sent). This needs httpx's own transports
    (``HTTPTransport``/``AsyncHTTPTransport``, the default); a custom
    transport is never called with the trace: do not follow redirects
    through one towards hosts you do not trust.
    """

    requires_request_body = False
    requires_response_body = False
    # The last session token and its bytes (one tuple: threads swap it whole).
    _token_bytes: tuple[str, bytes] = ("", b"")

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        credentials = self._core.credentials_sync()
        payload_hash = self._sign_known(request, credentials)
        if payload_hash is None:
            pairs = _pairs(request.headers)
            payload_hash = self._payload_hash(request, pairs)
            if payload_hash is None:
                stream = request.stream
                if not isinstance(stream, httpx.SyncByteStream):
                    raise self._core.unknown_body(stream)
                request.stream = httpx.ByteStream(self._core.buffer_iterable(stream))
                payload_hash = hash_bytes(request.read())
            self._sign(request, pairs, payload_hash, credentials)
        _guard(request, _SyncGuard(self, request, payload_hash))
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        credentials = await self._core.credentials()
        payload_hash = self._sign_known(request, credentials)
        if payload_hash is None:
            pairs = _pairs(request.headers)
            payload_hash = self._payload_hash(request, pairs)
            if payload_hash is None:
                stream = request.stream
                if not isinstance(stream, httpx.AsyncByteStream):
                    raise self._core.unknown_body(stream)
                body = await self._core.buffer_async_iterable(stream)
                request.stream = httpx.ByteStream(body)
                payload_hash = hash_bytes(await request.aread())
            self._sign(request, pairs, payload_hash, credentials)
        _guard(request, _AsyncGuard(self, request, payload_hash))
        yield request

    def _sign_known(
        self, request: httpx.Request, credentials: FrozenCredentials
    ) -> str | None:
        """Sign a bytes-body request of a shape seen before (or learn it);
        its payload hash, or None when it takes the general path.

        The shape key is what httpx holds (the parsed URL, the header
        triples but Content-Length, the header encoding when one was set),
        so a steady client signs without building the URL string or the
        decoded header pairs again (~4 µs of ~20).
        """
        headers = request.headers
        items = _triples(headers)
        stream = request.stream
        if items is None or type(stream) is not httpx.ByteStream:
            return None
        url = request.url
        token = credentials.token
        key = (
            request.method,
            getattr(url, "_uri_reference", None) or str(url),
            tuple([triple for triple in items if triple[1] != b"content-length"]),
            getattr(headers, "_encoding", None),
            not token,
        )
        core = self._core
        plan = core.known(key, request, _describe, bool(token))
        if plan is None:
            return None
        payload_hash = hash_bytes(request.read())
        amz_date, authorization = core.sign_known(plan, payload_hash, credentials)
        added = [
            (b"x-amz-date", b"x-amz-date", amz_date.encode()),
            (b"Authorization", b"authorization", authorization.encode()),
        ]
        if core.sends_content_sha256:
            added.append(
                (
                    b"x-amz-content-sha256",
                    b"x-amz-content-sha256",
                    payload_hash.encode(),
                )
            )
        if token:
            encoded = self._token_bytes
            if encoded[0] is not token:  # new credentials: encode ~1 KB once
                encoded = self._token_bytes = (token, token.encode())
            added.append((b"X-Amz-Security-Token", b"x-amz-security-token", encoded[1]))
        items.extend(added)
        return payload_hash

    def _payload_hash(
        self, request: httpx.Request, pairs: list[tuple[str, str]]
    ) -> str | None:
        # None: a one-shot stream the flow must buffer (sync or async).
        given = None
        if any(name == "x-amz-content-sha256" for name, _ in pairs):
            given = given_payload_hash(request.headers)
        if given is not None:
            return given
        stream = request.stream
        if isinstance(stream, httpx.ByteStream):
            return hash_bytes(request.read())
        # httpx wraps a file in IteratorByteStream, which reads it from its
        # position when sent: hash it from there and rewind.
        file = getattr(stream, "_stream", None)
        if is_seekable_file(file) and not getattr(stream, "_is_stream_consumed", 1):
            return self._core.hash_file(file)  # type: ignore[arg-type]
        if self._core.unsigned_payload:
            return UNSIGNED_PAYLOAD
        return None

    def _sign(
        self,
        request: httpx.Request,
        pairs: list[tuple[str, str]],
        payload_hash: str,
        credentials: FrozenCredentials,
    ) -> None:
        # _pairs() names are lowercase. Buffering may have changed no
        # header: httpx set the framing headers when the request was built.
        signed = self._core.sign(
            request.method,
            str(request.url),
            pairs_to_sign(pairs),
            payload_hash,
            credentials,
        )
        if any(name in SIGNATURE_HEADERS for name, _ in pairs):  # signed before
            kept = [(n, v) for n, v in pairs if n not in SIGNATURE_HEADERS]
            request.headers = httpx.Headers([*kept, *signed.items()])
        else:
            _append(request.headers, signed)


_RAW_NAMES: dict[str, tuple[bytes, bytes]] = {}


def _triples(headers: httpx.Headers) -> list[tuple[bytes, bytes, bytes]] | None:
    # httpx's list of (raw name, lowercase name, value) bytes triples,
    # unchanged since httpx 0.18; None if a version lays it out otherwise.
    items = getattr(headers, "_list", None)
    if type(items) is not list or (items and len(items[0]) != 3):
        return None
    return items


def _describe(request: httpx.Request) -> tuple[str, str, list[tuple[str, str]]]:
    return request.method, str(request.url), _pairs(request.headers)


def _pairs(headers: httpx.Headers) -> list[tuple[str, str]]:
    """``headers.multi_items()`` (lowercase names, values decoded as httpx
    decodes them), without its two ``encoding`` property reads per header."""
    items = _triples(headers)
    if items is None:
        return headers.multi_items()
    encoding = headers.encoding
    return [(name.decode(encoding), value.decode(encoding)) for _, name, value in items]


def _append(headers: httpx.Headers, signed: dict[str, str]) -> None:
    """Add new headers (names not present yet) to ``headers``.

    httpx's ``Headers.__setitem__`` re-encodes and scans the whole list per
    name (~0.8 µs each, ~3.3 µs for four); its list of triples is extended
    in one call instead (~1.4 µs). Any other layout takes the public path.
    """
    items = _triples(headers)
    if items is None:
        for name, value in signed.items():
            headers[name] = value
        return
    triples = []
    for name, value in signed.items():
        raw = _RAW_NAMES.get(name)
        if raw is None:
            raw = _RAW_NAMES[name] = (name.encode(), name.lower().encode())
        triples.append((*raw, value.encode()))
    items.extend(triples)


# --- redirect hops: httpcore's "trace" extension -----------------------------------

_SIGNATURE_BYTES: Final = frozenset(name.encode() for name in SIGNATURE_HEADERS)
_DEFAULT_PORTS: Final = {b"http": 80, b"https": 443}


def _origin(scheme: bytes, host: bytes, port: int | None) -> tuple[bytes, bytes, int]:
    scheme = scheme.lower()
    return scheme, host.lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def _guard(request: httpx.Request, guard: _SyncGuard | _AsyncGuard) -> None:
    # The extensions dict is passed on to every redirect hop (httpx's
    # _build_redirect_request) and to httpcore, which calls "trace" at each
    # step of each hop. A request signed again keeps the caller's own trace.
    inner = request.extensions.get("trace")
    guard.inner = inner.inner if isinstance(inner, (_SyncGuard, _AsyncGuard)) else inner
    request.extensions["trace"] = guard


class _SyncGuard:
    """The trace callback: leaves the first request alone (it is the signed
    one), strips or re-signs every later one (a redirect hop)."""

    __slots__ = (
        "_auth",
        "_origin",
        "_payload_hash",
        "_sent",
        "_stream",
        "_url",
        "inner",
    )

    def __init__(
        self, auth: HttpxSigV4Auth, request: httpx.Request, payload_hash: str
    ) -> None:
        self._auth = auth
        self._url = request.url
        self._origin: tuple[bytes, bytes, int] | None = None  # when a hop asks
        self._stream = request.stream
        self._payload_hash = payload_hash
        self._sent = False
        self.inner: Any = None

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith(".send_request_headers.started"):
            hop = self._hop(info["request"])
            if hop is not None:
                hop(self._auth._core.credentials_sync())
        if self.inner is not None:
            self.inner(event, info)

    def _hop(self, request: Any) -> Callable[[FrozenCredentials], None] | None:
        """None for the signed request, else what to do with its credentials."""
        if not self._sent:
            self._sent = True
            return None
        if request.method == b"CONNECT":  # a proxy tunnel's own request
            return None
        headers: list[tuple[bytes, bytes]] = request.headers
        url = request.url
        target: bytes = url.target
        if target[:1] == b"/":
            origin = _origin(url.scheme, url.host, url.port)
            wire_url = self._url.copy_with(raw_path=target)
        else:  # absolute-form, to a forwarding proxy
            wire_url = httpx.URL(target.decode("ascii"))
            origin = _origin(wire_url.raw_scheme, wire_url.raw_host, wire_url.port)
        kept = [(n, v) for n, v in headers if n.lower() not in _SIGNATURE_BYTES]
        payload_hash = self._hop_payload_hash(request.stream)
        if self._origin is None:
            first = self._url
            self._origin = _origin(first.raw_scheme, first.raw_host, first.port)
        if origin != self._origin or payload_hash is None:
            headers[:] = kept  # never signed for another origin
            return None

        def sign(credentials: FrozenCredentials) -> None:
            pairs = [(n.decode("latin-1").lower(), _text(v)) for n, v in kept]
            signed = self._auth._core.sign(
                request.method.decode("ascii"),
                str(wire_url),
                pairs_to_sign(pairs),
                payload_hash,
                credentials,
            )
            headers[:] = [*kept, *((n.encode(), v.encode()) for n, v in signed.items())]

        return sign

    def _hop_payload_hash(self, stream: object) -> str | None:
        if stream is self._stream and (
            isinstance(stream, httpx.ByteStream)
            or self._payload_hash == UNSIGNED_PAYLOAD
        ):
            return self._payload_hash  # 307/308 (or same method): same body
        if isinstance(stream, httpx.ByteStream):  # 301/302/303 turned into GET
            return hash_bytes(b"".join(stream))
        return None  # a file or iterator already sent: body unknown


class _AsyncGuard(_SyncGuard):
    """The same for httpcore's async connections (the trace is awaited)."""

    __slots__ = ()

    async def __call__(self, event: str, info: dict[str, Any]) -> None:  # type: ignore[override]
        if event.endswith(".send_request_headers.started"):
            hop = self._hop(info["request"])
            if hop is not None:
                hop(await self._auth._core.credentials())
        if self.inner is not None:
            await self.inner(event, info)


def _text(value: bytes) -> str:
    # As httpx decodes header values: UTF-8 when valid, else latin-1.
    try:
        return value.decode()
    except UnicodeDecodeError:
        return value.decode("latin-1")
