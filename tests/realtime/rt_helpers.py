"""Helpers for the real-time tests: botocore-signed header objects, raw frames.

The emulator's endpoint is driven here with botocore's ``SigV4Auth`` and a
plain aiohttp WebSocket, never with this project's signer or client.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from appsync_iam import FrozenCredentials

REALTIME_HEADERS = {
    "accept": "application/json, text/javascript",
    "content-encoding": "amz-1.0",
    "content-type": "application/json; charset=UTF-8",
}

ON_MESSAGE = (
    "subscription OnMessage($roomId: ID) { onMessagePosted(roomId: $roomId) "
    "{ id roomId content } }"
)
POST_MESSAGE = (
    "mutation Post($roomId: ID!, $content: String!) { postMessage(roomId: $roomId, "
    "content: $content) { id roomId content author } }"
)


class _AtSigV4Auth(SigV4Auth):
    """botocore's SigV4Auth at a chosen time (as botocore's own tests do)."""

    def __init__(self, credentials: Credentials, region: str, at: datetime) -> None:
        super().__init__(credentials, "appsync", region)
        self._at = at

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._at.strftime("%Y%m%dT%H%M%SZ")
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical)
        self._inject_signature_to_request(
            request, self.signature(string_to_sign, request)
        )


def header_object(
    url: str,
    body: bytes,
    credentials: FrozenCredentials,
    *,
    region: str = "us-east-1",
    at: datetime | None = None,
) -> dict[str, str]:
    """The real-time header object botocore signs for ``POST url`` with ``body``."""
    request = AWSRequest(method="POST", url=url, data=body, headers=REALTIME_HEADERS)
    creds = Credentials(
        credentials.access_key, credentials.secret_key, credentials.token
    )
    if at is None:
        SigV4Auth(creds, "appsync", region).add_auth(request)
    else:
        _AtSigV4Auth(creds, region, at).add_auth(request)
    return {"host": urlsplit(url).netloc, **dict(request.headers.items())}


def subprotocol(header: Mapping[str, str]) -> str:
    """``header-`` + unpadded base64url, written independently of the client."""
    raw = base64.urlsafe_b64encode(json.dumps(dict(header)).encode()).decode()
    return "header-" + raw.rstrip("=")


def connect_header(
    graphql_url: str, credentials: FrozenCredentials, **kwargs: Any
) -> dict[str, str]:
    """The header object for the handshake: ``POST <graphql>/connect``, body ``{}``."""
    return header_object(graphql_url + "/connect", b"{}", credentials, **kwargs)


def start_message(
    graphql_url: str,
    ident: str,
    query: str,
    variables: Mapping[str, Any] | None,
    credentials: FrozenCredentials,
    **kwargs: Any,
) -> str:
    """A ``start`` frame whose authorization signs the exact ``data`` string."""
    data = json.dumps({"query": query, "variables": dict(variables or {})})
    authorization = header_object(graphql_url, data.encode(), credentials, **kwargs)
    return json.dumps(
        {
            "id": ident,
            "type": "start",
            "payload": {"data": data, "extensions": {"authorization": authorization}},
        }
    )


async def receive_json(
    ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0, *, skip_ka: bool = True
) -> dict[str, Any]:
    """The next frame as JSON (``ka`` skipped unless asked), within ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise asyncio.TimeoutError
        message = await ws.receive(timeout=remaining)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        frame: dict[str, Any] = json.loads(message.data)
        if skip_ka and frame.get("type") == "ka":
            continue
        return frame


async def eventually(
    predicate: Callable[[], bool], timeout: float = 5.0, step: float = 0.01
) -> None:
    """Wait until ``predicate()`` holds, or fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(step)


async def signed_post(
    session: aiohttp.ClientSession,
    graphql_url: str,
    query: str,
    variables: Mapping[str, Any],
    credentials: FrozenCredentials,
) -> dict[str, Any]:
    """Run a GraphQL operation over HTTP, signed by botocore; the JSON answer."""
    body = json.dumps({"query": query, "variables": dict(variables)}).encode()
    request = AWSRequest(
        method="POST",
        url=graphql_url,
        data=body,
        headers={"content-type": "application/json"},
    )
    creds = Credentials(
        credentials.access_key, credentials.secret_key, credentials.token
    )
    SigV4Auth(creds, "appsync", "us-east-1").add_auth(request)
    async with session.post(
        graphql_url, data=body, headers=dict(request.headers.items())
    ) as response:
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


Publish = Callable[[str, str], Awaitable[dict[str, Any]]]
