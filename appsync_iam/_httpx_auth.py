"""SigV4 for httpx: an ``httpx.Auth`` with sync and async flows.

Loaded lazily by ``appsync_iam.HttpxSigV4Auth``: importing appsync_iam does
not import httpx (``pip install 'appsync-iam[httpx]'``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator

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
    ``AWS_REGION``/``AWS_DEFAULT_REGION``. ``algorithm="SigV4A"`` signs for
    ``region_set`` instead (``"*"`` by default, ``"us-*"``,
    ``"us-east-1,us-west-2"`` or a list; ``region`` is then refused) and
    needs ``pip install 'appsync_iam[sigv4a]'`` (checked here). Bodies:
    bytes are hashed; a seekable binary file is hashed, rewound and
    streamed; a one-shot
    (async) iterator is buffered up to ``max_buffer`` bytes, or sent with
    ``UNSIGNED-PAYLOAD`` when ``unsigned_payload=True``. Anything else raises
    :class:`UnsignableRequestError` before sending. httpx follows redirects
    (``follow_redirects=True``) without calling the auth again; it drops
    ``Authorization`` on a cross-origin hop but keeps the other headers, the
    session token included: keep httpx's default ``follow_redirects=False``
    for hosts you do not trust.
    """

    requires_request_body = False
    requires_response_body = False

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        pairs = request.headers.multi_items()  # one decode pass: httpx headers are slow
        payload_hash = self._payload_hash(request, pairs)
        if payload_hash is None:
            stream = request.stream
            if not isinstance(stream, httpx.SyncByteStream):
                raise self._core.unknown_body(stream)
            request.stream = httpx.ByteStream(self._core.buffer_iterable(stream))
            payload_hash = hash_bytes(request.read())
        self._sign(request, pairs, payload_hash, self._core.credentials_sync())
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        pairs = request.headers.multi_items()
        payload_hash = self._payload_hash(request, pairs)
        if payload_hash is None:
            stream = request.stream
            if not isinstance(stream, httpx.AsyncByteStream):
                raise self._core.unknown_body(stream)
            body = await self._core.buffer_async_iterable(stream)
            request.stream = httpx.ByteStream(body)
            payload_hash = hash_bytes(await request.aread())
        self._sign(request, pairs, payload_hash, await self._core.credentials())
        yield request

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
        # multi_items() names are lowercase. Buffering may have changed no
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


def _append(headers: httpx.Headers, signed: dict[str, str]) -> None:
    """Add new headers (names not present yet) to ``headers``.

    httpx's ``Headers.__setitem__`` re-encodes and scans the whole list per
    name (~0.8 µs each, ~3.3 µs for four); its list of ``(raw name,
    lowercase name, value)`` bytes triples, unchanged since httpx 0.18, is
    extended in one call instead (~1.4 µs). Any other layout takes the
    public path.
    """
    items = getattr(headers, "_list", None)
    if type(items) is not list or (items and len(items[0]) != 3):
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
