"""SigV4 for aiohttp: a client middleware (aiohttp >= 3.12).

Loaded lazily by ``appsync_iam.AiohttpSigV4Middleware`` (aiohttp is a
dependency of the library anyway; the module stays out of the import).
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import IO, Any

from aiohttp import ClientHandlerType, ClientRequest, ClientResponse, payload
from yarl import URL

from ._credentials import FrozenCredentials
from ._http_auth import (
    SIGNATURE_HEADERS,
    AdapterBase,
    given_payload_hash,
    hash_bytes,
    is_seekable_file,
    pairs_to_sign,
)
from ._signer import EMPTY_SHA256, UNSIGNED_PAYLOAD

__all__ = ["AiohttpSigV4Middleware"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# aiohttp follows a redirect by calling the middlewares again in the same
# task: (origin redirected from, URL redirected to), for the next call only.
_REDIRECT: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "appsync_iam_redirect", default=None
)


class AiohttpSigV4Middleware(AdapterBase):
    """Signs the requests of an aiohttp session with SigV4 (aiohttp >= 3.12).

    Session-wide, ``aiohttp.ClientSession(middlewares=[m])``, or per
    request, ``session.get(url, middlewares=(m,))``. Same arguments and body
    rules as :class:`HttpxSigV4Auth`; files are hashed in a worker thread, so
    the loop never blocks, and credentials are awaited from the source.

    aiohttp calls middlewares again for each redirect hop: a hop to the same
    origin is signed again (for its new path); a hop to another origin is
    sent unsigned, never signed for that host. The middleware cannot see
    ``allow_redirects``: after a redirect answer it was not asked to follow,
    the next request of the same task to exactly that ``Location`` on
    another origin is sent unsigned too (make it in another task, or once
    more).
    """

    async def __call__(
        self, request: ClientRequest, handler: ClientHandlerType
    ) -> ClientResponse:
        redirect = _REDIRECT.get()
        headers = request.headers
        if redirect is not None:
            _REDIRECT.set(None)
            if redirect[1] == str(request.url.with_fragment(None)) and redirect[
                0
            ] != str(request.url.origin()):
                for name in SIGNATURE_HEADERS:
                    headers.popall(name, None)
                return await self._send(request, handler)
        credentials = await self._core.credentials()
        if await self._sign_known(request, credentials):
            return await self._send(request, handler)
        payload_hash = given_payload_hash(headers)
        if payload_hash is None:
            payload_hash = await self._payload_hash(request)
        for name in SIGNATURE_HEADERS:
            headers.popall(name, None)
        signed = self._core.sign(
            request.method,
            str(request.url),
            pairs_to_sign(headers.items()),
            payload_hash,
            credentials,
        )
        headers.update(signed)
        return await self._send(request, handler)

    async def _sign_known(
        self, request: ClientRequest, credentials: FrozenCredentials
    ) -> bool:
        """Sign a bytes-body request of a shape seen before (or learn it);
        False when it takes the general path.

        The shape key is the method, the yarl URL and the header items
        without Content-Length, so a steady session skips decoding and
        filtering the header pairs again.
        """
        body = request.body
        empty = body is None or body == b""
        if not empty and type(body) is not payload.BytesPayload:
            return False
        headers = request.headers
        token = credentials.token
        key = (
            request.method,
            request.url,
            tuple([item for item in headers.items() if item[0] != "Content-Length"]),
            not token,
        )
        core = self._core
        plan = core.known(key, request, _describe, bool(token))
        if plan is None:
            return False
        payload_hash = (
            EMPTY_SHA256 if empty else hash_bytes(await body.as_bytes())  # type: ignore[union-attr]
        )
        amz_date, authorization = core.sign_known(plan, payload_hash, credentials)
        signed = {"x-amz-date": amz_date, "Authorization": authorization}
        if core.sends_content_sha256:
            signed["x-amz-content-sha256"] = payload_hash
        if token:
            signed["X-Amz-Security-Token"] = token
        headers.extend(signed)
        return True

    @staticmethod
    async def _send(
        request: ClientRequest, handler: ClientHandlerType
    ) -> ClientResponse:
        response = await handler(request)
        if response.status in _REDIRECTS:
            location = response.headers.get("Location")
            if location:
                try:
                    target = response.url.join(URL(location)).with_fragment(None)
                except ValueError:
                    return response  # aiohttp will refuse it too
                _REDIRECT.set((str(request.url.origin()), str(target)))
        return response

    async def _payload_hash(self, request: ClientRequest) -> str:
        body: Any = request.body
        if body == b"" or body is None:
            return hash_bytes(b"")
        if isinstance(body, payload.BytesPayload):
            return hash_bytes(await body.as_bytes())
        if isinstance(body, payload.IOBasePayload) and not isinstance(
            body, payload.TextIOPayload
        ):
            file: IO[Any] = body._value  # type: ignore[assignment]  # aiohttp sends from it
            if is_seekable_file(file):
                return await asyncio.to_thread(self._core.hash_file, file)
        if self._core.unsigned_payload:
            return UNSIGNED_PAYLOAD
        if isinstance(body, payload.AsyncIterablePayload):
            chunks = body._iter
            if chunks is None:
                raise self._core.unknown_body(body)
            data = await self._core.buffer_async_iterable(chunks)
        else:
            size = body.size
            if size is not None and size > self._core.max_buffer:
                raise self._core.buffer().too_large(size)
            data = await body.as_bytes()
            self._core.buffer().add(data)
        await request.update_body(data)
        return hash_bytes(data)


def _describe(request: ClientRequest) -> tuple[str, str, list[tuple[str, str]]]:
    pairs = [(name.lower(), value) for name, value in request.headers.items()]
    return request.method, str(request.url), pairs
