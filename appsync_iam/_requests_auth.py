"""SigV4 for requests: a ``requests.auth.AuthBase``.

Loaded lazily by ``appsync_iam.RequestsSigV4Auth``: importing appsync_iam does
not import requests (``pip install 'appsync-iam[requests]'``).
"""

from __future__ import annotations

from typing import Any

import requests
from requests.auth import AuthBase
from requests.structures import CaseInsensitiveDict

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

__all__ = ["RequestsSigV4Auth"]


class RequestsSigV4Auth(AdapterBase, AuthBase):
    """Signs every request of requests with SigV4 for one service and region.

    ``requests.get(url, auth=RequestsSigV4Auth("es", "eu-west-1"))`` or
    ``session.auth = ...``; ``stream=True`` responses work as usual. Same
    arguments and body rules as :class:`HttpxSigV4Auth` (bytes and str
    hashed; seekable binary files hashed, rewound and streamed; generators
    buffered up to ``max_buffer`` or sent ``UNSIGNED-PAYLOAD`` when
    allowed). Credentials are fetched through a thread-safe, single-flight
    bridge: one refresh however many threads sign at once.

    A redirect is followed unsigned: the signature, date, token and
    content-hash headers are removed from the request requests copies for
    the next hop, so no other host (nor a different path on this one) ever
    receives them. requests has no hook before it sends a hop, so a
    same-origin hop cannot be signed again: it goes unsigned too (follow
    such redirects yourself with ``allow_redirects=False``).
    """

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        credentials = self._core.credentials_sync()
        if not self._sign_known(r, credentials):
            self._sign(r, credentials)
        hooks = r.hooks["response"]
        if _unsign_redirect not in hooks:  # a request signed again (a retry)
            hooks.append(_unsign_redirect)
        return r

    def _sign_known(
        self, r: requests.PreparedRequest, credentials: FrozenCredentials
    ) -> bool:
        """Sign a bytes-body request of a shape seen before (or learn it);
        False when it takes the general path (:meth:`_sign`).

        The shape key is the method, the URL and the header items as
        requests holds them (its ``CaseInsensitiveDict`` store), without
        Content-Length, so a steady client skips decoding and filtering the
        header pairs again.
        """
        body = r.body
        headers = r.headers
        if (body is not None and type(body) is not bytes) or type(
            headers
        ) is not CaseInsensitiveDict:
            return False
        store: dict[str, tuple[str, Any]] = headers._store  # its lowercase-keyed dict
        token = credentials.token
        key = (
            r.method,
            r.url,
            tuple([item for item in store.items() if item[0] != "content-length"]),
            not token,
        )
        core = self._core
        plan = core.known(key, r, _describe, bool(token))
        if plan is None:
            return False
        payload_hash = EMPTY_SHA256 if body is None else hash_bytes(body)
        amz_date, authorization = core.sign_known(plan, payload_hash, credentials)
        # What CaseInsensitiveDict.__setitem__ stores (lowercase key ->
        # (name, value)), without its call and lower() per header.
        store["x-amz-date"] = ("x-amz-date", amz_date)
        store["authorization"] = ("Authorization", authorization)
        if core.sends_content_sha256:
            store["x-amz-content-sha256"] = ("x-amz-content-sha256", payload_hash)
        if token:
            store["x-amz-security-token"] = ("X-Amz-Security-Token", token)
        return True

    def _sign(
        self, r: requests.PreparedRequest, credentials: FrozenCredentials
    ) -> None:
        headers = r.headers
        names = [name for name, _ in headers.lower_items()]
        payload_hash = None
        if "x-amz-content-sha256" in names:
            payload_hash = given_payload_hash(headers)
        if payload_hash is None:
            payload_hash = self._payload_hash(r)
        for name in SIGNATURE_HEADERS:
            if name in names:
                del headers[name]
        signed = self._core.sign(
            r.method or "GET",
            r.url or "",
            pairs_to_sign(headers.lower_items()),
            payload_hash,
            credentials,
        )
        for name, value in signed.items():  # not MutableMapping.update: slower
            headers[name] = value

    def _payload_hash(self, r: requests.PreparedRequest) -> str:
        body: Any = r.body
        if body is None:
            return hash_bytes(b"")
        if isinstance(body, str):
            # Sent as these exact bytes, whatever http.client would pick.
            body = r.body = body.encode()
        if isinstance(body, (bytes, bytearray, memoryview)):
            return hash_bytes(body)
        if is_seekable_file(body):
            return self._core.hash_file(body)
        if self._core.unsigned_payload:
            return UNSIGNED_PAYLOAD
        if hasattr(body, "__iter__") and not hasattr(body, "read"):
            data = self._core.buffer_iterable(body)
            r.body = data
            # Sent with a length now, as requests does for bytes.
            r.headers.pop("Transfer-Encoding", None)
            r.prepare_content_length(data)
            return hash_bytes(data)
        raise self._core.unknown_body(body)


def _describe(
    r: requests.PreparedRequest,
) -> tuple[str, str, list[tuple[str, str | bytes]]]:
    return r.method or "GET", r.url or "", list(r.headers.lower_items())


def _unsign_redirect(
    response: requests.Response, *args: object, **kwargs: object
) -> requests.Response:
    if response.is_redirect:
        # requests builds the next hop from a copy of this request.
        for name in SIGNATURE_HEADERS:
            response.request.headers.pop(name, None)
    return response
