"""The generic signing core against botocore and the AWS suite.

Differential: SigV4Signer.sign / presign against botocore's SigV4Auth,
S3SigV4Auth, SigV4QueryAuth and S3SigV4QueryAuth over random methods, paths,
queries, headers and bodies, for several services. Suite: the unnormalized
(S3-style) cases and every case's query-signing (presigned) variant.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import botocore.auth
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from appsync_iam import (
    ConfigurationError,
    CredentialsError,
    FrozenCredentials,
    SigV4Signer,
    presign_url,
)
from appsync_iam._http_auth import wire_url
from tests.test_signer import (
    AKID,
    SECRET,
    SUITE,
    SuiteCase,
    _epoch,
    header_sets,
    urls,
)

SERVICES = [
    "s3",
    "s3-object-lambda",
    "s3express",
    "execute-api",
    "es",
    "aoss",
    "lambda",
]
S3 = {"s3", "s3-object-lambda", "s3-outposts", "s3express"}
_SIGNERS: dict[tuple[str, str], SigV4Signer] = {}


def _signer(region: str, service: str) -> SigV4Signer:
    return _SIGNERS.setdefault((region, service), SigV4Signer(region, service))


def _frozen(epoch: int) -> Any:
    at = datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)
    return mock.patch.object(botocore.auth, "get_current_datetime", return_value=at)


def _botocore_headers(
    auth_cls: type[SigV4Auth],
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    creds: FrozenCredentials,
    region: str,
    service: str,
    epoch: int,
    unsigned: bool,
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    if unsigned:
        request.context["payload_signing_enabled"] = False
        if auth_cls is S3SigV4Auth:
            request.context["client_config"] = mock.Mock(
                s3={"payload_signing_enabled": False}
            )
    boto = Credentials(creds.access_key, creds.secret_key, creds.token)
    with _frozen(epoch):
        auth_cls(boto, service, region).add_auth(request)
    return dict(request.headers.items())


bodies = st.binary(max_size=300) | st.sampled_from([b"", b'{"a":"\xc3\xa9"}'])
payload_modes = st.sampled_from(["hash", "precomputed", "unsigned"])


class TestHeaderSigningDifferential:
    @settings(max_examples=400, deadline=None)
    @given(
        method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
        url=urls(),
        headers=header_sets(),
        body=bodies,
        token=st.none() | st.from_regex(r"[A-Za-z0-9+/=]{16,200}", fullmatch=True),
        region=st.sampled_from(["us-east-1", "eu-west-1", "ap-northeast-1"]),
        service=st.sampled_from(SERVICES),
        epoch=st.integers(946684800, 4102444799),
        mode=payload_modes,
        include_sha=st.booleans(),
    )
    def test_same_authorization_as_botocore(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        token: str | None,
        region: str,
        service: str,
        epoch: int,
        mode: str,
        include_sha: bool,
    ) -> None:
        """SigV4Auth (S3SigV4Auth for S3 services) gives the same headers."""
        url = wire_url(url)  # what an HTTP client sends
        if mode == "unsigned":
            url = url.replace("http://", "https://", 1)  # botocore: https only
        creds = FrozenCredentials(AKID, SECRET, token)
        payload_hash = {
            "hash": None,
            "precomputed": hashlib.sha256(body).hexdigest(),
            "unsigned": "UNSIGNED-PAYLOAD",
        }[mode]
        include = include_sha or mode == "unsigned"
        ours = _signer(region, service).sign(
            method,
            url,
            headers,
            body,
            creds,
            now=epoch,
            include_content_sha256=include,
            payload_hash=payload_hash,
        )
        given_headers = dict(headers)
        s3 = service in S3
        if (include or service == "aoss") and mode != "unsigned" and not s3:
            given_headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        auth_cls = S3SigV4Auth if s3 else SigV4Auth
        theirs = _botocore_headers(
            auth_cls, method, url, given_headers, body, creds, region, service,
            epoch, mode == "unsigned",
        )  # fmt: skip
        assert ours["Authorization"] == theirs["Authorization"]
        assert ours.get("x-amz-content-sha256") == theirs.get("X-Amz-Content-SHA256")
        if service in S3 or service == "aoss":
            assert "x-amz-content-sha256" in ours

    def test_s3_path_is_signed_as_sent(self) -> None:
        """S3: no dot-segment removal, no second encoding (S3SigV4Auth)."""
        url = "https://bucket.s3.amazonaws.com/a/../b//c%20d/%E3%81%82.txt"
        creds = FrozenCredentials(AKID, SECRET)
        ours = SigV4Signer("us-east-1", "s3").sign("GET", url, {}, b"", creds, now=0)
        theirs = _botocore_headers(
            S3SigV4Auth, "GET", url, {}, b"", creds, "us-east-1", "s3", 0, False
        )
        assert ours["Authorization"] == theirs["Authorization"]
        generic = SigV4Signer("us-east-1", "execute-api").sign(
            "GET", url, {}, b"", creds, now=0
        )
        assert generic["Authorization"] != ours["Authorization"]

    @pytest.mark.parametrize(
        ("url", "host"),
        [
            ("https://api.example.com:8443/p", "api.example.com:8443"),
            ("https://[2001:db8::1]:9443/p", "[2001:db8::1]:9443"),
            ("http://[::1]/p", "[::1]"),
            ("https://example.com:443/p", "example.com"),
        ],
    )
    def test_port_and_ipv6_stay_in_the_signed_host(self, url: str, host: str) -> None:
        creds = FrozenCredentials(AKID, SECRET)
        ours = SigV4Signer("us-east-1", "lambda").sign(
            "GET", url, {}, b"", creds, now=0, include_content_sha256=False
        )
        assert ours["host"] == host
        theirs = _botocore_headers(
            SigV4Auth, "GET", url, {}, b"", creds, "us-east-1", "lambda", 0, False
        )
        assert ours["Authorization"] == theirs["Authorization"]


def _unique_key_query(url: str) -> bool:
    keys = [k for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
    return len(keys) == len(set(keys))


class TestQuerySigningDifferential:
    @settings(max_examples=300, deadline=None)
    @given(
        url=urls().filter(_unique_key_query),
        headers=header_sets(),
        token=st.none() | st.from_regex(r"[A-Za-z0-9+/=]{16,200}", fullmatch=True),
        region=st.sampled_from(["us-east-1", "eu-west-1"]),
        service=st.sampled_from(SERVICES),
        epoch=st.integers(946684800, 4102444799),
        expires=st.integers(1, 604800),
        method=st.sampled_from(["GET", "PUT", "HEAD"]),
    )
    def test_same_signature_as_botocore(
        self,
        url: str,
        headers: dict[str, str],
        token: str | None,
        region: str,
        service: str,
        epoch: int,
        expires: int,
        method: str,
    ) -> None:
        """presign == SigV4QueryAuth (S3SigV4QueryAuth for S3 services)."""
        url = wire_url(url)
        creds = FrozenCredentials(AKID, SECRET, token)
        ours = _signer(region, service).presign(
            method, url, creds, expires=expires, headers=headers, now=epoch
        )
        request = AWSRequest(method=method, url=url, headers=dict(headers))
        auth_cls = S3SigV4QueryAuth if service in S3 else SigV4QueryAuth
        boto = Credentials(AKID, SECRET, token)
        with _frozen(epoch):
            auth_cls(boto, service, region, expires=expires).add_auth(request)
        ours_q = dict(parse_qsl(urlsplit(ours).query, keep_blank_values=True))
        theirs_q = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        assert ours_q == theirs_q
        assert ours.startswith(url.split("?", 1)[0].split("#", 1)[0])

    def test_errors_and_secrets(self) -> None:
        signer = SigV4Signer("us-east-1", "s3")
        creds = FrozenCredentials(AKID, SECRET, "TOKEN")
        with pytest.raises(ConfigurationError, match="expires"):
            signer.presign("GET", "https://b.s3.amazonaws.com/k", creds, expires=0)
        with pytest.raises(ConfigurationError, match="expires"):
            signer.presign("GET", "https://b.s3.amazonaws.com/k", creds, expires=604801)
        with pytest.raises(CredentialsError) as info:
            signer.presign("GET", "https://b/k", FrozenCredentials(AKID, ""))
        assert SECRET not in str(info.value)

    def test_presign_again_replaces_the_old_auth_params(self) -> None:
        signer = SigV4Signer("us-east-1", "s3")
        creds = FrozenCredentials(AKID, SECRET, "TOKEN")
        once = signer.presign("GET", "https://b.s3.amazonaws.com/k?x=1", creds, now=0)
        twice = signer.presign("GET", once, creds, now=0)
        assert once == twice

    def test_presign_url_function(self) -> None:
        """presign_url: raw unicode encoded once; S3 gets UNSIGNED-PAYLOAD."""
        creds = FrozenCredentials(AKID, SECRET)
        url = presign_url(
            "https://b.s3.eu-west-1.amazonaws.com/フォルダ/a b.txt",
            service="s3",
            region="eu-west-1",
            credentials=creds,
            expires=60,
            now=0,
        )
        request = AWSRequest(
            method="GET",
            url="https://b.s3.eu-west-1.amazonaws.com/"
            "%E3%83%95%E3%82%A9%E3%83%AB%E3%83%80/a%20b.txt",
        )
        with _frozen(0):
            S3SigV4QueryAuth(Credentials(AKID, SECRET), "s3", "eu-west-1", 60).add_auth(
                request
            )
        assert dict(parse_qsl(urlsplit(url).query)) == dict(
            parse_qsl(urlsplit(request.url).query)
        )
        with pytest.raises(ConfigurationError, match="region"):
            with mock.patch.dict("os.environ", {}, clear=True):
                presign_url("https://x/", service="s3", credentials=creds)


# --- the AWS suite ----------------------------------------------------------------


def _all_cases() -> list[Any]:
    if not SUITE.is_dir():
        reason = f"AWS SigV4 test suite not found at {SUITE}"
        return [pytest.param("missing", marks=pytest.mark.skip(reason=reason))]
    return sorted(p.name for p in SUITE.iterdir() if p.is_dir())


def _query_expected(name: str) -> tuple[str, str]:
    folder = SUITE / name
    signed = (folder / "query-signed-request.txt").read_text()
    target = signed.split("\n", 1)[0].split(" ", 1)[1].rsplit(" ", 1)[0]
    return target, (folder / "query-signature.txt").read_text().strip()


class TestSuite:
    @pytest.mark.parametrize("name", _all_cases())
    def test_header_signing_with_the_case_path_rule(self, name: str) -> None:
        """Every case, unnormalized ones with normalize_path=False (S3 rule)."""
        case = SuiteCase(name)
        if name == "post-sts-header-after":
            pytest.skip("token deliberately unsigned in this case")
        context = case.context
        signer = SigV4Signer(
            context["region"], context["service"], normalize_path=context["normalize"]
        )
        from multidict import CIMultiDict

        headers = signer.sign(
            case.method,
            case.url,  # raw, as the suite gives it: encoded once by the signer
            CIMultiDict(case.headers),
            case.body,
            case.credentials,
            now=_epoch(case.amz_date),
            include_content_sha256=context["sign_body"],
        )
        assert headers["Authorization"] == case.authorization

    @pytest.mark.parametrize("name", _all_cases())
    def test_query_signing(self, name: str) -> None:
        """Every case's presigned variant: the suite's X-Amz-Signature."""
        case = SuiteCase(name)
        context = case.context
        if context["sign_body"] or name == "post-sts-header-after":
            pytest.skip("query variant signs a body hash / unsigned token")
        signer = SigV4Signer(
            context["region"], context["service"], normalize_path=context["normalize"]
        )
        from multidict import CIMultiDict

        url = signer.presign(
            case.method,
            case.url,  # raw, as the suite gives it: encoded once by the signer
            case.credentials,
            expires=context["expiration_in_seconds"],
            headers=CIMultiDict(
                [(n, v) for n, v in case.headers if n.lower() != "x-amz-date"]
            ),
            now=_epoch(case.amz_date),
            payload_hash=hashlib.sha256(case.body).hexdigest(),
        )
        _, signature = _query_expected(name)
        assert dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"] == signature


def test_json_of_context_is_read() -> None:
    # Guard: the loader above reads the same folder as tests/test_signer.py.
    if SUITE.is_dir():
        assert json.loads((SUITE / "get-vanilla" / "context.json").read_text())
