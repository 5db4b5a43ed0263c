"""Cross-checks with awscrt (the AWS Common Runtime botocore[crt] uses).

- awscrt's SigV4A signatures (header and presigned forms, random requests,
  session tokens) are accepted by the emulator's verifier;
- the public key awscrt signs with (recovered from two of its signatures:
  awscrt's Python API does not export it) is the one we derive, and our
  signer's signatures verify under it with awscrt's own ECDSA.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime, timezone
from io import BytesIO
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from appsync_iam import FrozenCredentials, SigV4ASigner
from appsync_iam._signer import canonical_request, canonical_uri, host_header
from appsync_iam._sigv4a import derive_private_key, string_to_sign
from appsync_iam.emulator import Principal, SignatureRejected, verify_sigv4a
from appsync_iam.emulator._sigv4a import _B, _G, _N, _P, _add, _multiply

from .sigv4a_helpers import S3_PATHS

crt_auth = pytest.importorskip(
    "awscrt.auth", reason="awscrt (test extra) is not installed on this platform"
)
from awscrt import http as crt_http  # noqa: E402
from awscrt.crypto import EC  # noqa: E402

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NOW = datetime(2026, 12, 3, 8, 0, 0, tzinfo=timezone.utc)


def crt_sign(
    method: str,
    host: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    creds: FrozenCredentials,
    *,
    service: str,
    region_set: str,
    presign: bool = False,
    content_sha256: bool = False,
    unsigned_payload: bool = False,
) -> tuple[str, list[tuple[str, str]]]:
    """(signed target, signed headers) from awscrt's SigV4A signer."""
    request = crt_http.HttpRequest(
        method, target, crt_http.HttpHeaders([("Host", host), *headers])
    )
    request.body_stream = BytesIO(body)
    provider = crt_auth.AwsCredentialsProvider.new_static(
        creds.access_key, creds.secret_key, creds.token
    )
    options: dict[str, Any] = {}
    if presign:
        options["signature_type"] = crt_auth.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS
        options["expiration_in_seconds"] = 600
    if content_sha256:
        options["signed_body_header_type"] = (
            crt_auth.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256
        )
    if unsigned_payload:  # botocore's CrtS3SigV4AsymQueryAuth
        options["signed_body_value"] = crt_auth.AwsSignedBodyValue.UNSIGNED_PAYLOAD
    if service == "s3":  # S3's path rule, as botocore's CRT signer sets it
        options["use_double_uri_encode"] = False
        options["should_normalize_uri_path"] = False
    config = crt_auth.AwsSigningConfig(
        algorithm=crt_auth.AwsSigningAlgorithm.V4_ASYMMETRIC,
        credentials_provider=provider,
        region=region_set,
        service=service,
        date=NOW,
        **options,
    )
    signed = crt_auth.aws_sign_request(request, config).result(timeout=10)
    return signed.path, list(signed.headers)


def emulator_accepts(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes,
    creds: FrozenCredentials,
    **kwargs: Any,
) -> bool:
    path, _, query = target.partition("?")
    principal = Principal(creds.access_key, creds.secret_key, creds.token)
    accepted = verify_sigv4a(
        method=method,
        path=path,
        query=query,
        headers=CIMultiDict(headers),
        body=body,
        principals={creds.access_key: principal},
        now=NOW,
        **kwargs,
    )
    return accepted is principal


def _der(signature: bytes) -> tuple[int, int]:
    raw = EC.decode_der_signature(signature)
    return int.from_bytes(raw.r, "big"), int.from_bytes(raw.s, "big")


def recover_public_keys(signature_hex: str, message: bytes) -> set[tuple[int, int]]:
    """Every P-256 public key under which this ECDSA-SHA256 signature verifies."""
    r, s = _der(bytes.fromhex(signature_hex))
    e = int.from_bytes(hashlib.sha256(message).digest(), "big") % _N
    keys = set()
    for x in (r, r + _N):
        if x >= _P:
            continue
        alpha = (x * x * x - 3 * x + _B) % _P
        y = pow(alpha, (_P + 1) // 4, _P)
        if y * y % _P != alpha:
            continue
        for point in ((x, y), (x, _P - y)):
            sr_minus_eg = _add(_multiply(s, point), _multiply(-e % _N, _G))
            key = _multiply(pow(r, -1, _N), sr_minus_eg)
            if key is not None:
                keys.add(key)
    return keys


def crt_key(creds: FrozenCredentials) -> EC:
    """awscrt's derived public key, recovered from two of its signatures."""
    candidates = None
    for target in ("/one", "/two?x=1"):
        _, headers = crt_sign(
            "GET", "h.example", target, [], b"", creds, service="s3", region_set="*"
        )
        auth = dict(headers)["Authorization"]
        pairs = [(n, v) for n, v in headers if n != "Authorization"]
        creq = canonical_request(
            "GET", f"https://h.example{target}", pairs, hashlib.sha256().hexdigest()
        )
        sts = string_to_sign(creq, "20261203T080000Z", "s3")
        keys = recover_public_keys(auth.rsplit("Signature=", 1)[1], sts.encode())
        candidates = keys if candidates is None else candidates & keys
    assert candidates is not None and len(candidates) == 1
    ((x, y),) = candidates
    spki = (
        ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    )
    return EC.new_key_from_der_data(spki)


@functools.cache
def default_crt_key() -> EC:
    return crt_key(FrozenCredentials(AKID, SECRET))


# --- random requests --------------------------------------------------------

_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8
)
_SEGMENTS = st.lists(_TEXT.filter(lambda s: s not in (".", "..")), max_size=3)
_PAIRS = st.lists(st.tuples(_TEXT, _TEXT), max_size=3)
_HEADERS = st.dictionaries(
    st.from_regex(r"x-h-[a-z0-9]{1,6}", fullmatch=True),
    st.from_regex(r"[!-~]([ -~]{0,10}[!-~])?", fullmatch=True),
    max_size=3,
)
_REGION_SETS = st.sampled_from(["*", "us-east-1", "us-east-1,eu-west-1", "eu-*"])
_TOKENS = st.none() | st.from_regex(r"[A-Za-z0-9/+=]{16,80}", fullmatch=True)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    path = "/" + "/".join(quote(s, safe="") for s in draw(_SEGMENTS))
    query = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in draw(_PAIRS)
    )
    return {
        "method": draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"])),
        "host": draw(st.sampled_from(["api.example.com", "127.0.0.1:8443"])),
        "target": path + (f"?{query}" if query else ""),
        "headers": sorted(draw(_HEADERS).items()),
        "body": draw(st.binary(max_size=64)),
        "creds": FrozenCredentials(AKID, SECRET, draw(_TOKENS)),
        "service": draw(st.sampled_from(["execute-api", "lambda", "s3"])),
        "region_set": draw(_REGION_SETS),
    }


class TestCrtSignsEmulatorVerifies:
    @settings(max_examples=30, deadline=None)
    @given(requests(), st.booleans())
    def test_header_form(self, request: dict[str, Any], sha: bool) -> None:
        target, headers = crt_sign(**request, content_sha256=sha)
        assert emulator_accepts(
            request["method"],
            target,
            headers,
            request["body"],
            request["creds"],
            service=request["service"],
            region="us-east-1" if request["region_set"] != "eu-*" else "eu-west-1",
        )

    @settings(max_examples=15, deadline=None)
    @given(requests())
    def test_presigned_form(self, request: dict[str, Any]) -> None:
        if request["service"] == "s3":
            request["body"] = b""  # awscrt presigns S3 with UNSIGNED-PAYLOAD only
        request.pop("service")
        target, headers = crt_sign(**request, service="execute-api", presign=True)
        assert "X-Amz-Signature=" in target
        assert emulator_accepts(
            request["method"], target, headers, request["body"], request["creds"]
        )

    def test_tampered_crt_request_rejected(self) -> None:
        creds = FrozenCredentials(AKID, SECRET, "TOKENEXAMPLE")
        target, headers = crt_sign(
            "POST", "h.example", "/a?b=c", [], b"x", creds,
            service="lambda", region_set="*", content_sha256=True,
        )  # fmt: skip
        with pytest.raises(SignatureRejected):
            emulator_accepts("POST", target.replace("b=c", "b=d"), headers, b"x", creds)


class TestOursVerifiesUnderCrtKey:
    @pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luEXAMPLE/+=="])
    def test_same_public_key(self, token: str | None) -> None:
        creds = FrozenCredentials(AKID, SECRET, token)
        coords = crt_key(creds).get_public_coords()
        ours = derive_private_key(AKID, SECRET).public_key().public_numbers()
        assert (int.from_bytes(coords.x, "big"), int.from_bytes(coords.y, "big")) == (
            ours.x,
            ours.y,
        )

    @settings(max_examples=30, deadline=None)
    @given(requests(), st.booleans())
    def test_our_signatures(self, request: dict[str, Any], sha: bool) -> None:
        key = default_crt_key()
        creds: FrozenCredentials = request["creds"]
        url = f"https://{request['host']}{request['target']}"
        signer = SigV4ASigner(request["service"], region_set=request["region_set"])
        headers = signer.sign(
            request["method"],
            url,
            dict(request["headers"]),
            request["body"],
            creds,
            now=NOW,
            include_content_sha256=sha,
        )
        auth = headers.pop("Authorization")
        creq = canonical_request(
            request["method"],
            url,
            list(headers.items()),
            hashlib.sha256(request["body"]).hexdigest(),
            normalize=request["service"] != "s3",  # S3: the path as sent
        )
        sts = string_to_sign(creq, "20261203T080000Z", request["service"])
        signature = bytes.fromhex(auth.rsplit("Signature=", 1)[1])
        assert key.verify(hashlib.sha256(sts.encode()).digest(), signature)
        # ...and the emulator (botocore's canonical request) accepts it.
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers["Authorization"] = auth
        assert emulator_accepts(
            request["method"], target, list(headers.items()), request["body"], creds
        )


# --- S3's path rule (botocore's CrtS3SigV4AsymAuth settings) ---------------------


class TestS3PathRule:
    """Our SigV4A S3 signatures and awscrt's sign the same canonical request."""

    @pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luEXAMPLE/+=="])
    @pytest.mark.parametrize("path", S3_PATHS)
    def test_same_canonical_request_as_crt(self, path: str, token: str | None) -> None:
        creds = FrozenCredentials(AKID, SECRET, token)
        host = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
        target = f"{path}?x-id=PutObject"
        url, body = f"https://{host}{target}", b"object body"
        crt_target, crt_headers = crt_sign(
            "PUT", host, target, [], body, creds,
            service="s3", region_set="*", content_sha256=True,
        )  # fmt: skip
        assert crt_target == target
        ours = SigV4ASigner("s3").sign("PUT", url, {}, body, creds, now=NOW)
        our_auth, crt_auth = (
            ours.pop("Authorization"),
            dict(crt_headers)["Authorization"],
        )
        assert our_auth.split("Signature=")[0] == crt_auth.split("Signature=")[0]
        payload = hashlib.sha256(body).hexdigest()
        assert ours["x-amz-content-sha256"] == payload

        def sts(normalize: bool) -> bytes:
            creq = canonical_request(
                "PUT", url, list(ours.items()), payload, normalize=normalize
            )
            return string_to_sign(creq, "20261203T080000Z", "s3").encode()

        ours_key = derive_private_key(AKID, SECRET).public_key()
        ecdsa = ec.ECDSA(hashes.SHA256())
        crt_signature = bytes.fromhex(crt_auth.rsplit("Signature=", 1)[1])
        # awscrt signed the string to sign of S3's rule, and so did we.
        ours_key.verify(crt_signature, sts(normalize=False), ecdsa)
        our_signature = bytes.fromhex(our_auth.rsplit("Signature=", 1)[1])
        digest = hashlib.sha256(sts(normalize=False)).digest()
        assert default_crt_key().verify(digest, our_signature)
        if canonical_uri(path) != canonical_uri(path, normalize=False):
            # The generic rule would have signed something else.
            with pytest.raises(InvalidSignature):
                ours_key.verify(crt_signature, sts(normalize=True), ecdsa)
        # The emulator (botocore's S3SigV4Auth path rule) accepts both.
        assert emulator_accepts("PUT", target, crt_headers, body, creds, service="s3")
        ours["Authorization"] = our_auth
        assert emulator_accepts(
            "PUT", target, list(ours.items()), body, creds, service="s3"
        )

    @pytest.mark.parametrize("path", S3_PATHS)
    def test_presigned_s3_path(self, path: str) -> None:
        """Query form: S3's path rule, UNSIGNED-PAYLOAD (CrtS3SigV4AsymQueryAuth)."""
        creds = FrozenCredentials(AKID, SECRET, "IQoJb3JpZ2luEXAMPLE/+==")
        host = "mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com"
        presigned = SigV4ASigner("s3").presign(
            "GET", f"https://{host}{path}", creds, expires=600, now=NOW
        )
        parts = urlsplit(presigned)
        assert parts.path == path
        assert emulator_accepts(
            "GET", f"{parts.path}?{parts.query}", [("host", host)], b"", creds,
            service="s3",
        )  # fmt: skip
        crt_target, crt_headers = crt_sign(
            "GET", host, path, [], b"", creds,
            service="s3", region_set="*", presign=True, unsigned_payload=True,
        )  # fmt: skip
        assert emulator_accepts("GET", crt_target, crt_headers, b"", creds)


# --- the adapters' SigV4A output under awscrt's key ---------------------------------

ADAPTER_URL = (
    "https://api.example.com:8443/prod/%E6%97%A5%E6%9C%AC/a%20b?q=%E2%82%AC&x=1"
)


def crt_key_accepts(
    method: str, url: str, headers: Any, body: bytes, service: str
) -> bool:
    """The request as sent (``headers``: case-insensitive) verifies under the
    public key awscrt signs with, for the canonical request of its signed
    headers (S3: the path as sent)."""
    auth = headers["Authorization"]
    assert auth.startswith("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/")
    names = auth.split("SignedHeaders=", 1)[1].split(",", 1)[0].split(";")
    # requests leaves host to http.client, which sends the URL's.
    pairs = [(n, headers[n] if n in headers else host_header(url)) for n in names]
    payload = headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    creq = canonical_request(method, url, pairs, payload, normalize=service != "s3")
    sts = string_to_sign(creq, headers["x-amz-date"], service)
    signature = bytes.fromhex(auth.rsplit("Signature=", 1)[1])
    digest = hashlib.sha256(sts.encode()).digest()
    return bool(default_crt_key().verify(digest, signature))


ADAPTER_SERVICES = ["execute-api", "s3"]
ADAPTER_CREDS = FrozenCredentials(AKID, SECRET, "IQoJb3JpZ2luEXAMPLE/+==")


class TestAdaptersUnderCrtKey:
    @pytest.mark.parametrize("service", ADAPTER_SERVICES)
    def test_httpx_sync_and_requests(self, service: str) -> None:
        import httpx
        import requests

        from appsync_iam import HttpxSigV4Auth, RequestsSigV4Auth

        sent: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(200)

        auth = HttpxSigV4Auth(
            service, algorithm="SigV4A", region_set=["us-east-1", "eu-west-1"],
            credentials=ADAPTER_CREDS,
        )  # fmt: skip
        with httpx.Client(auth=auth, transport=httpx.MockTransport(answer)) as client:
            client.post(ADAPTER_URL, content=b"payload", headers={"x-h": " a  b "})
        (request,) = sent
        assert request.headers["x-amz-region-set"] == "us-east-1,eu-west-1"
        assert crt_key_accepts(
            "POST", str(request.url), request.headers, b"payload", service
        )
        prepared = requests.Request("PUT", ADAPTER_URL, data=b"payload").prepare()
        RequestsSigV4Auth(service, algorithm="SigV4A", credentials=ADAPTER_CREDS)(
            prepared
        )
        assert prepared.url is not None
        headers = prepared.headers
        assert crt_key_accepts("PUT", prepared.url, headers, b"payload", service)

    @pytest.mark.parametrize("service", ADAPTER_SERVICES)
    async def test_httpx_async_and_aiohttp(self, service: str) -> None:
        import aiohttp
        import httpx

        from appsync_iam import AiohttpSigV4Middleware, HttpxSigV4Auth
        from appsync_iam.emulator import SigV4Server

        sent: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(200)

        auth = HttpxSigV4Auth(service, algorithm="SigV4A", credentials=ADAPTER_CREDS)
        transport = httpx.MockTransport(answer)
        async with httpx.AsyncClient(auth=auth, transport=transport) as client:
            await client.get(ADAPTER_URL)
        (request,) = sent
        assert crt_key_accepts("GET", str(request.url), request.headers, b"", service)

        seen: list[tuple[str, str, Any]] = []

        async def capture(request: aiohttp.ClientRequest, handler: Any) -> Any:
            seen.append((request.method, str(request.url), request.headers.copy()))
            return await handler(request)

        m = AiohttpSigV4Middleware(
            service, algorithm="SigV4A", credentials=ADAPTER_CREDS
        )
        async with SigV4Server() as server:
            server.add_principal(AKID, SECRET, ADAPTER_CREDS.token)
            url = server.url + "/prod/%E6%97%A5/a%20b?q=%E2%82%AC"
            async with aiohttp.ClientSession(middlewares=[m, capture]) as session:
                async with session.post(url, data=b"payload") as response:
                    assert response.status == 200, await response.text()
        ((method, sent_url, headers),) = seen
        assert crt_key_accepts(method, sent_url, headers, b"payload", service)
