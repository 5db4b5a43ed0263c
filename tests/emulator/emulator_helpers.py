"""Helpers for the emulator tests: sign with botocore directly, send, inspect.

Requests are signed by ``botocore.auth.SigV4Auth`` itself, never by this
project's client, so the emulator is tested against an independent signer.
"""

from __future__ import annotations

import hashlib
import http.client
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from appsync_iam import FrozenCredentials

TINY_SDL = """
type Query {
  hello(name: String): String
}

type Mutation {
  bump(by: Int!): Int
}
"""

HELLO = json.dumps({"query": 'query { hello(name: "emulator") }'}).encode()
BUMP = json.dumps(
    {"query": "mutation Bump($by: Int!) { bump(by: $by) }", "variables": {"by": 2}}
).encode()

TEMP_KEY = "AKIDTEMPEXAMPLE"
TEMP_SECRET = "temporarySecretKeyEXAMPLEKEY/0123456789"
TEMP_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN+/=abcdefghijklmnop"


def tiny_resolvers() -> dict[str, Any]:
    """Resolvers for TINY_SDL: a greeting and a counter."""
    state = {"count": 0}

    def hello(parent: Any, info: Any, name: str | None = None) -> str:
        return f"hello {name}"

    def bump(parent: Any, info: Any, by: int) -> int:
        state["count"] += by
        return state["count"]

    return {"Query.hello": hello, "Mutation.bump": bump}


class _FixedClockSigV4Auth(SigV4Auth):
    """botocore's SigV4Auth.add_auth, but at a chosen time instead of now."""

    def __init__(
        self, credentials: Credentials, service: str, region: str, at: datetime
    ):
        super().__init__(credentials, service, region)
        self._at = at

    def add_auth(self, request: AWSRequest) -> None:
        request.context["timestamp"] = self._at.strftime("%Y%m%dT%H%M%SZ")
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical)
        self._inject_signature_to_request(
            request, self.signature(string_to_sign, request)
        )


def sign(
    url: str,
    body: bytes,
    credentials: FrozenCredentials,
    *,
    region: str = "us-east-1",
    service: str = "appsync",
    headers: Mapping[str, str] | None = None,
    at: datetime | None = None,
    method: str = "POST",
    content_sha256: bool = False,
) -> dict[str, str]:
    """The headers botocore's SigV4Auth produces for this request (host excluded:
    the HTTP client sends the same ``host:port`` botocore signed)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if content_sha256:
        all_headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    request = AWSRequest(method=method, url=url, data=body, headers=all_headers)
    creds = Credentials(
        credentials.access_key, credentials.secret_key, credentials.token
    )
    if at is None:
        SigV4Auth(creds, service, region).add_auth(request)
    else:
        _FixedClockSigV4Auth(creds, service, region, at).add_auth(request)
    return dict(request.headers.items())


def replace_in_authorization(
    headers: dict[str, str], old: str, new: str
) -> dict[str, str]:
    """A copy of signed headers with one substring of Authorization replaced."""
    changed = dict(headers)
    assert old in changed["Authorization"]
    changed["Authorization"] = changed["Authorization"].replace(old, new)
    return changed


class Answer:
    """An HTTP answer from the emulator: status, headers and parsed JSON body."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.text = body.decode()
        self.json: Any = json.loads(body) if body else None

    @property
    def error_type(self) -> str | None:
        """The errorType of the first error, checked against x-amzn-ErrorType."""
        errors = (self.json or {}).get("errors") or [{}]
        error_type = errors[0].get("errorType")
        assert self.headers.get("x-amzn-ErrorType") == error_type
        return error_type

    @property
    def message(self) -> str:
        return str(self.json["errors"][0]["message"])

    def __repr__(self) -> str:
        return f"Answer({self.status}, {self.text[:300]!r})"


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
) -> Answer:
    """POST the exact bytes with exactly these headers (plus aiohttp's Host)."""
    async with session.post(url, data=body, headers=dict(headers)) as response:
        return Answer(response.status, response.headers, await response.read())


def post_sync(
    url: str, body: bytes, headers: Mapping[str, str], timeout: float = 10
) -> Answer:
    """The same with the stdlib's http.client, for sync code (no event loop)."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        names = {name.lower() for name in headers}
        connection.putrequest(
            "POST", parts.path, skip_host="host" in names, skip_accept_encoding=True
        )
        for name, value in headers.items():
            connection.putheader(name, value)
        if "content-length" not in names:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read())  # type: ignore[arg-type]
    finally:
        connection.close()
