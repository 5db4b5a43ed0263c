"""Requests signed with botocore (not this library's signer) for SigV4Server tests."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from yarl import URL

from appsync_iam import FrozenCredentials


def botocore_signed(
    method: str,
    url: str,
    credentials: FrozenCredentials,
    *,
    service: str,
    region: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    presign_expires: int | None = None,
    content_sha256: bool = False,
) -> tuple[str, dict[str, str]]:
    """(url, headers) signed by botocore; S3 services get S3SigV4Auth."""
    all_headers = dict(headers or {})
    if content_sha256:
        all_headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    request = AWSRequest(method=method, url=url, data=body, headers=all_headers)
    creds = Credentials(
        credentials.access_key, credentials.secret_key, credentials.token
    )
    s3 = service.startswith("s3")
    if presign_expires is not None:
        auth: SigV4Auth = (S3SigV4QueryAuth if s3 else SigV4QueryAuth)(
            creds, service, region, expires=presign_expires
        )
    else:
        auth = (S3SigV4Auth if s3 else SigV4Auth)(creds, service, region)
    auth.add_auth(request)
    return request.url, dict(request.headers.items())


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | AsyncIterator[bytes] = b"",
) -> tuple[int, Mapping[str, str], bytes]:
    """Send exactly this target (no re-encoding) and read the whole answer."""
    async with session.request(
        method, URL(url, encoded=True), headers=dict(headers), data=body or None,
        skip_auto_headers=("Content-Type",),
    ) as response:  # fmt: skip
        return response.status, response.headers, await response.read()


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def as_json(body: bytes) -> Any:
    import json

    return json.loads(body)
