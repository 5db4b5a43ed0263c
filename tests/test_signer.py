"""Pure tests of the SigV4 signer: AWS suite, AppSync KATs, botocore differential."""

from __future__ import annotations

import calendar
import difflib
import hashlib
import hmac
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import example, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from appsync_iam import (
    ConfigurationError,
    CredentialsError,
    FrozenCredentials,
    SigV4Signer,
)
from appsync_iam._signer import (
    UNSIGNED_HEADERS,
    canonical_query,
    canonical_request,
    canonical_uri,
    signature,
    signing_key,
    string_to_sign,
)

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
# ../shared/sigv4-test-suite/v4 from the repo root, else $SIGV4_TEST_SUITE.
SUITE = Path(__file__).resolve().parents[2] / "shared" / "sigv4-test-suite" / "v4"
if not SUITE.is_dir() and os.environ.get("SIGV4_TEST_SUITE"):
    SUITE = Path(os.environ["SIGV4_TEST_SUITE"])
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _epoch(amz_date: str) -> int:
    return calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))


def _creq_diff(expected: str, actual: str) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), "expected", "actual", lineterm=""
    )
    return "canonical request differs:\n" + "\n".join(lines)


def _signature_of(authorization: str) -> str:
    return authorization.rsplit("Signature=", 1)[1]


def _signed_headers_of(authorization: str) -> str:
    return authorization.split("SignedHeaders=", 1)[1].split(",", 1)[0]


# --- the AWS SigV4 test suite (aws-c-auth v4, header signing) ---------------

# Cases that do not apply to a non-S3 service signing with an Authorization
# header, with the reason.
EXCLUDED = {
    # The token is added after signing and left unsigned (omit_session_token);
    # AppSync expects X-Amz-Security-Token signed (protocol doc §4.1 step 6).
    "post-sts-header-after": "token deliberately unsigned",
}


def _suite_params() -> list[Any]:
    if not SUITE.is_dir():
        reason = (
            f"AWS SigV4 test suite not found at {SUITE} (clone shared/ beside "
            "the repo, or set SIGV4_TEST_SUITE)"
        )
        return [pytest.param("missing", marks=pytest.mark.skip(reason=reason))]
    params: list[Any] = []
    for case in sorted(p.name for p in SUITE.iterdir() if p.is_dir()):
        context = json.loads((SUITE / case / "context.json").read_text())
        if case in EXCLUDED:
            reason = EXCLUDED[case]
        elif not context["normalize"]:
            # S3-style: path used as sent. AppSync is not S3 and always
            # normalizes and double-encodes (botocore SigV4Auth).
            reason = "unnormalized path (S3 only)"
        else:
            params.append(case)
            continue
        params.append(pytest.param(case, marks=pytest.mark.skip(reason=reason)))
    return params


class SuiteCase:
    """One aws-c-auth case folder, parsed."""

    def __init__(self, name: str) -> None:
        folder = SUITE / name
        self.context = json.loads((folder / "context.json").read_text())
        head, _, body = (folder / "request.txt").read_text().partition("\n\n")
        request_line, *header_lines = head.split("\n")
        self.method, rest = request_line.split(" ", 1)
        self.path = rest.rsplit(" ", 1)[0]  # the path may hold a space
        self.headers: list[tuple[str, str]] = []
        for line in filter(None, header_lines):
            if line[:1] in (" ", "\t"):  # obs-fold continuation line
                name, value = self.headers.pop()
                self.headers.append((name, f"{value}\n{line}"))
            else:
                name, _, value = line.partition(":")
                self.headers.append((name, value))
        self.body = body.encode()
        host = next(v for n, v in self.headers if n.lower() == "host")
        self.url = f"https://{host}{self.path}"
        creds = self.context["credentials"]
        self.credentials = FrozenCredentials(
            creds["access_key_id"], creds["secret_access_key"], creds.get("token")
        )
        self.amz_date = time.strftime(
            "%Y%m%dT%H%M%SZ",
            time.strptime(self.context["timestamp"], "%Y-%m-%dT%H:%M:%SZ"),
        )
        self.expected = {
            kind: (folder / f"header-{kind}.txt").read_text()
            for kind in ("canonical-request", "string-to-sign", "signature")
        }
        signed = (folder / "header-signed-request.txt").read_text()
        self.authorization = next(
            line.split(":", 1)[1]
            for line in signed.split("\n")
            if line.startswith("Authorization:")
        )

    def headers_to_sign(self) -> list[tuple[str, str]]:
        pairs = [*self.headers, ("X-Amz-Date", self.amz_date)]
        if self.context["sign_body"]:
            body_hash = hashlib.sha256(self.body).hexdigest()
            pairs.append(("x-amz-content-sha256", body_hash))
        if self.credentials.token:
            pairs.append(("X-Amz-Security-Token", self.credentials.token))
        return pairs


class TestAwsSuite:
    @pytest.mark.parametrize("name", _suite_params())
    def test_helpers_reproduce_each_step(self, name: str) -> None:
        """Canonical request, string to sign and signature match the suite's files."""
        case = SuiteCase(name)
        payload = hashlib.sha256(case.body).hexdigest()
        creq = canonical_request(case.method, case.url, case.headers_to_sign(), payload)
        expected = case.expected["canonical-request"]
        assert creq == expected, _creq_diff(expected, creq)
        region, service = case.context["region"], case.context["service"]
        sts = string_to_sign(creq, case.amz_date, region, service)
        assert sts == case.expected["string-to-sign"]
        key = signing_key(case.credentials.secret_key, sts[17:25], region, service)
        assert signature(key, sts) == case.expected["signature"]

    @pytest.mark.parametrize("name", _suite_params())
    def test_signer_produces_the_suite_authorization(self, name: str) -> None:
        """SigV4Signer.sign yields the suite's Authorization, repeated names too."""
        case = SuiteCase(name)
        signer = SigV4Signer(case.context["region"], case.context["service"])
        headers = signer.sign(
            case.method,
            case.url,
            CIMultiDict(case.headers),  # a Mapping that can repeat a name
            case.body,
            case.credentials,
            now=_epoch(case.amz_date),
            include_content_sha256=case.context["sign_body"],
        )
        creq = canonical_request(
            case.method, case.url, case.headers_to_sign(), EMPTY_SHA256
        )
        assert headers["Authorization"] == case.authorization, _creq_diff(
            case.expected["canonical-request"], creq
        )


# --- AppSync known answers (protocol doc §2.3) -------------------------------

KAT_HOST = "example1234567890000.appsync-api.us-east-1.amazonaws.com"
KAT_NOW = _epoch("20200401T001010Z")
KAT_TOKEN = "EXAMPLESESSIONTOKEN"
REALTIME_HEADERS = {
    "accept": "application/json, text/javascript",
    "content-encoding": "amz-1.0",
    "content-type": "application/json; charset=UTF-8",
}
START_BODY = b'{"query":"subscription { onCreateMessage { message } }","variables":{}}'
KATS = [
    (
        "/graphql/connect",
        b"{}",
        KAT_TOKEN,
        "396f2f2572bdfe008e90d6c26035e2ea7f95f250bee4a65d0103ddd154d7a21d",
    ),
    (
        "/graphql",
        START_BODY,
        KAT_TOKEN,
        "6960d3194985b7966fc1368b97fb53c92aa027ebb853c80d9d51c676191843ba",
    ),
    (
        "/graphql/connect",
        b"{}",
        None,
        "2f5e7fe25b88c59d1268241cb5f9f153b5b0f89b972aae457542a00969ea352e",
    ),
    (
        "/graphql",
        START_BODY,
        None,
        "245a0cb2fe338634680eaac2d539da36966b5b4a7ee0ae66b015be297adb7a2f",
    ),
]
CONNECT_CREQ = f"""POST
/graphql/connect

accept:application/json, text/javascript
content-encoding:amz-1.0
content-type:application/json; charset=UTF-8
host:{KAT_HOST}
x-amz-date:20200401T001010Z
x-amz-security-token:EXAMPLESESSIONTOKEN

accept;content-encoding;content-type;host;x-amz-date;x-amz-security-token
44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"""


class TestAppSyncKnownAnswers:
    @pytest.mark.parametrize(("path", "body", "token", "expected"), KATS)
    def test_realtime_header_object(
        self, path: str, body: bytes, token: str | None, expected: str
    ) -> None:
        """connect/start × token/no token reproduce the doc's signatures and keys."""
        creds = FrozenCredentials(AKID, SECRET, token)
        signed = SigV4Signer("us-east-1").sign(
            "POST",
            f"https://{KAT_HOST}{path}",
            REALTIME_HEADERS,
            body,
            creds,
            now=KAT_NOW,
            include_content_sha256=False,
        )
        assert _signature_of(signed["Authorization"]) == expected
        keys = [*REALTIME_HEADERS, "host", "x-amz-date"]
        keys += ["X-Amz-Security-Token"] if token else []
        assert list(signed) == [*keys, "Authorization"]
        assert signed["host"] == KAT_HOST
        assert signed["x-amz-date"] == "20200401T001010Z"
        assert signed["Authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200401/us-east-1/appsync/"
            "aws4_request, SignedHeaders=accept;content-encoding;content-type;host;"
            "x-amz-date"
        )

    def test_connect_canonical_request(self) -> None:
        """The helpers give the doc's canonical request and string-to-sign hash."""
        pairs = [
            *REALTIME_HEADERS.items(),
            ("host", KAT_HOST),
            ("x-amz-date", "20200401T001010Z"),
            ("X-Amz-Security-Token", KAT_TOKEN),
        ]
        payload = hashlib.sha256(b"{}").hexdigest()
        creq = canonical_request(
            "POST", f"https://{KAT_HOST}/graphql/connect", pairs, payload
        )
        assert creq == CONNECT_CREQ, _creq_diff(CONNECT_CREQ, creq)
        sts = string_to_sign(creq, "20200401T001010Z", "us-east-1", "appsync")
        assert sts.endswith(
            "\n2ca151a488d512d0ee337220e944fd1153e8fe0598903baa22a46a2680281805"
        )


# --- botocore as the oracle ----------------------------------------------------


def botocore_sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: FrozenCredentials,
    region: str,
    service: str,
    epoch: int,
) -> dict[str, str]:
    """Sign with botocore SigV4Auth at a frozen instant; returns its final headers."""
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    frozen = datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)
    creds = Credentials(
        credentials.access_key, credentials.secret_key, credentials.token
    )
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=frozen):
        SigV4Auth(creds, service, region).add_auth(request)
    return dict(request.headers.items())


def _botocore_creq(
    method: str, url: str, headers: Mapping[str, str], body: bytes, epoch: int
) -> str:
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=body)
    request.context["timestamp"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))
    auth = SigV4Auth(Credentials(AKID, SECRET), "s", "r")
    auth._modify_request_before_signing(request)
    return str(auth.canonical_request(request))


_SIGNERS: dict[tuple[str, str], SigV4Signer] = {}


def _signer(region: str, service: str) -> SigV4Signer:
    # Shared across examples so the plan, URL and key caches are exercised.
    return _SIGNERS.setdefault((region, service), SigV4Signer(region, service))


_TCHAR = r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}"
_NOT_GENERATED = UNSIGNED_HEADERS | {
    # Owned by the signer (replaced) and botocore's Date quirk (§4.1 step 7).
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "date",
}
header_names = st.from_regex(_TCHAR, fullmatch=True).filter(
    lambda n: n.lower() not in _NOT_GENERATED
)
header_values = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from(" \t"),
    max_size=30,
)
path_chars = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="?#/"
)
segments = st.one_of(
    st.sampled_from(["", ".", "..", "graphql", "a b", "%41", "~user", "é"]),
    st.text(path_chars, max_size=8),
)
query_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    base = draw(
        st.sampled_from(
            [
                "https://abc.appsync-api.us-east-1.amazonaws.com",
                "https://Example.COM:443",
                "https://api.example.com:8443",
                "http://localhost:80",
                "http://127.0.0.1:8000",
                "https://[::1]:9443",
                "https://user:pw@example.com",
            ]
        )
    )
    path = "/".join(draw(st.lists(segments, max_size=5)))
    path = "/" + path if path or draw(st.booleans()) else ""
    pairs = draw(st.lists(st.tuples(query_text, query_text), max_size=4))
    # Already canonical (RFC 3986) query text: both signers then agree; botocore
    # signs the query as given, ours re-encodes it.
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs
    )
    return base + path + (f"?{query}" if query or draw(st.booleans()) else "")


@st.composite
def header_sets(draw: st.DrawFn) -> dict[str, str]:
    headers = draw(st.dictionaries(header_names, header_values, max_size=5))
    for name in list(headers)[: draw(st.integers(0, 2))]:
        # A repeated name in another case: both signers join the values.
        if name.swapcase() not in headers:
            headers[name.swapcase()] = draw(header_values)
    if draw(st.booleans()):
        headers[
            draw(st.sampled_from(["User-Agent", "Connection", "X-Amzn-Trace-Id"]))
        ] = "x"
    return headers


class TestBotocoreDifferential:
    @settings(max_examples=300, deadline=None)
    @given(
        method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "post"]),
        url=urls(),
        headers=header_sets(),
        payload=json_values,
        ensure_ascii=st.booleans(),
        token=st.none() | st.from_regex(r"[A-Za-z0-9+/=]{16,400}", fullmatch=True),
        secret=st.text(
            st.characters(min_codepoint=0x21, max_codepoint=0x7E),
            min_size=1,
            max_size=40,
        ),
        region=st.sampled_from(["us-east-1", "eu-west-1", "cn-north-1"]),
        service=st.sampled_from(["appsync", "service"]),
        epoch=st.integers(946684800, 4102444799),
        include_sha=st.booleans(),
    )
    @example(
        method="POST",
        url="https://abc.appsync-api.us-east-1.amazonaws.com/graphql",
        headers={"content-type": "application/json"},
        payload={"query": "é\u2028", "variables": {"x": "\U0001f600"}},
        ensure_ascii=False,
        token="EXAMPLESESSIONTOKEN",
        secret=SECRET,
        region="us-east-1",
        service="appsync",
        epoch=KAT_NOW,
        include_sha=True,
    )
    def test_same_authorization_as_botocore(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        payload: Any,
        ensure_ascii: bool,
        token: str | None,
        secret: str,
        region: str,
        service: str,
        epoch: int,
        include_sha: bool,
    ) -> None:
        """Random requests get botocore SigV4Auth's headers at the same instant."""
        body = json.dumps(payload, ensure_ascii=ensure_ascii).encode()
        creds = FrozenCredentials(AKID, secret, token)
        ours = _signer(region, service).sign(
            method,
            url,
            headers,
            body,
            creds,
            now=epoch,
            include_content_sha256=include_sha,
        )
        # botocore signs an X-Amz-Content-SHA256 header when present: give it ours.
        theirs_in = dict(headers)
        if include_sha:
            theirs_in["X-Amz-Content-SHA256"] = ours["x-amz-content-sha256"]
        theirs = botocore_sign(
            method, url, theirs_in, body, creds, region, service, epoch
        )
        creq = _botocore_creq(method, url, theirs_in, body, epoch)
        assert ours["Authorization"] == theirs["Authorization"], creq
        assert ours["x-amz-date"] == theirs["X-Amz-Date"]
        assert ours.get("X-Amz-Security-Token") == theirs.get("X-Amz-Security-Token")


# --- behaviour and edge cases ----------------------------------------------------

URL = f"https://{KAT_HOST}/graphql"
CREDS = FrozenCredentials(AKID, SECRET, KAT_TOKEN)


def _reference(secret: str, amz_date: str, creq: str, region: str = "us-east-1") -> str:
    """An independent, uncached SigV4 signature (hmac chain from scratch)."""
    key = ("AWS4" + secret).encode()
    for part in (amz_date[:8], region, "appsync", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    digest = hashlib.sha256(creq.encode()).hexdigest()
    scope = f"{amz_date[:8]}/{region}/appsync/aws4_request"
    sts = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{digest}"
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def _expected_signature(
    signed: Mapping[str, str], body: bytes, secret: str, url: str = URL
) -> str:
    pairs = [(n, v) for n, v in signed.items() if n != "Authorization"]
    creq = canonical_request("POST", url, pairs, hashlib.sha256(body).hexdigest())
    return _reference(secret, signed["x-amz-date"], creq)


class TestSignedHeaders:
    def test_input_is_not_mutated(self) -> None:
        """sign returns a new dict and leaves the caller's headers as they were."""
        headers = {"content-type": "application/json"}
        signed = SigV4Signer("us-east-1").sign("POST", URL, headers, b"{}", CREDS)
        assert headers == {"content-type": "application/json"}
        assert signed is not headers
        assert signed["content-type"] == "application/json"

    def test_output_spellings(self) -> None:
        """The added keys are spelled as the real-time header object spells them."""
        signed = SigV4Signer("us-east-1").sign(
            "POST", URL, {}, b"{}", CREDS, now=KAT_NOW
        )
        assert list(signed) == [
            "host",
            "x-amz-date",
            "x-amz-content-sha256",
            "X-Amz-Security-Token",
            "Authorization",
        ]
        assert signed["x-amz-content-sha256"] == hashlib.sha256(b"{}").hexdigest()
        assert _signed_headers_of(signed["Authorization"]) == (
            "host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
        )

    def test_no_token_no_sha(self) -> None:
        """Long-term keys without content hash sign only host and x-amz-date."""
        creds = FrozenCredentials(AKID, SECRET)
        signed = SigV4Signer("us-east-1").sign(
            "POST", URL, {}, b"{}", creds, include_content_sha256=False
        )
        assert list(signed) == ["host", "x-amz-date", "Authorization"]
        assert _signed_headers_of(signed["Authorization"]) == "host;x-amz-date"

    @pytest.mark.parametrize(
        ("url", "host"),
        [
            ("https://API.Example.com:443/graphql", "api.example.com"),
            ("https://api.example.com:8443/graphql", "api.example.com:8443"),
            ("http://localhost:80/graphql", "localhost"),
            ("http://localhost:8080/graphql", "localhost:8080"),
            ("https://user:pw@api.example.com/graphql", "api.example.com"),
            ("https://[::1]:9443/graphql", "[::1]:9443"),
            ("wss://api.example.com:443/graphql", "api.example.com"),
        ],
    )
    def test_host_from_url(self, url: str, host: str) -> None:
        """host is the lowercase netloc without userinfo or a default port."""
        signed = SigV4Signer("us-east-1").sign("POST", url, {}, b"", CREDS)
        assert signed["host"] == host

    def test_given_host_is_kept(self) -> None:
        """A caller's Host header is sent and signed instead of the URL's."""
        signed = SigV4Signer("us-east-1").sign(
            "POST", URL, {"Host": "proxy.example"}, b"", CREDS
        )
        assert "host" not in signed
        assert signed["Host"] == "proxy.example"
        assert signed["Authorization"].endswith(
            _expected_signature(signed, b"", SECRET)
        )

    def test_hop_by_hop_headers_are_sent_unsigned(self) -> None:
        """User-Agent, Connection and X-Amzn-Trace-Id pass through unsigned."""
        given = {"User-Agent": "ua", "Connection": "keep-alive", "X-Amzn-Trace-Id": "t"}
        signed = SigV4Signer("us-east-1").sign("POST", URL, given, b"", CREDS)
        assert {k: signed[k] for k in given} == given
        assert "user-agent" not in _signed_headers_of(signed["Authorization"])
        assert "connection" not in _signed_headers_of(signed["Authorization"])
        assert "trace" not in _signed_headers_of(signed["Authorization"])

    def test_stale_signature_headers_are_replaced(self) -> None:
        """Re-signing last attempt's signed headers equals signing fresh ones."""
        signer = SigV4Signer("us-east-1")
        first = signer.sign("POST", URL, {"x-api": "1"}, b"{}", CREDS, now=KAT_NOW)
        later = KAT_NOW + 60
        again = signer.sign("POST", URL, first, b"{}", CREDS, now=later)
        fresh = SigV4Signer("us-east-1").sign(
            "POST", URL, {"x-api": "1"}, b"{}", CREDS, now=later
        )
        assert again == fresh
        assert list(again) == list(fresh)
        for _, _, items, _, _ in signer._plans:  # stale values are never keys
            assert not {n.lower() for n, _ in items} & {"authorization", "x-amz-date"}

    def test_repeated_multidict_header_is_sent_joined(self) -> None:
        """A repeated name is sent as one comma-joined value, as it was signed."""
        headers = CIMultiDict([("X-Tag", " a  b "), ("X-Tag", "c")])
        signed = SigV4Signer("us-east-1").sign("POST", URL, headers, b"", CREDS)
        assert signed["X-Tag"] == "a b,c"
        assert signed["Authorization"].endswith(
            _expected_signature(signed, b"", SECRET)
        )

    def test_datetime_and_epoch_agree(self) -> None:
        """An aware datetime and epoch seconds of the same instant sign alike."""
        signer = SigV4Signer("us-east-1")
        moment = datetime(
            2020, 4, 1, 2, 10, 10, 999_000, tzinfo=timezone(timedelta(hours=2))
        )
        by_datetime = signer.sign("POST", URL, {}, b"", CREDS, now=moment)
        by_epoch = signer.sign("POST", URL, {}, b"", CREDS, now=KAT_NOW + 0.5)
        assert by_datetime == by_epoch
        assert by_epoch["x-amz-date"] == "20200401T001010Z"

    def test_default_now_is_the_current_time(self) -> None:
        """Without now, x-amz-date is the current UTC second."""
        before = int(time.time())
        signed = SigV4Signer("us-east-1").sign("POST", URL, {}, b"", CREDS)
        after = int(time.time())
        assert before <= _epoch(signed["x-amz-date"]) <= after


class TestCaches:
    def test_signing_key_follows_utc_midnight(self) -> None:
        """One signer across UTC midnight switches scope and key on the new day."""
        signer = SigV4Signer("us-east-1")
        midnight = _epoch("20200402T000000Z")
        for moment in (midnight - 1, midnight, midnight - 1, midnight + 1):
            signed = signer.sign("POST", URL, {}, b"{}", CREDS, now=moment)
            day = time.strftime("%Y%m%d", time.gmtime(moment))
            assert f"Credential=AKIDEXAMPLE/{day}/us-east-1/" in signed["Authorization"]
            assert signed["Authorization"].endswith(
                _expected_signature(signed, b"{}", SECRET)
            )

    def test_different_secrets_never_share_a_key(self) -> None:
        """Alternating secrets at the same instant each get their own signature."""
        signer = SigV4Signer("us-east-1")
        secrets = [SECRET, SECRET[::-1], SECRET + "x"]
        seen = set()
        for secret in secrets * 2:
            creds = FrozenCredentials(AKID, secret, KAT_TOKEN)
            signed = signer.sign("POST", URL, {}, b"{}", creds, now=KAT_NOW)
            assert signed["Authorization"].endswith(
                _expected_signature(signed, b"{}", secret)
            )
            seen.add(_signature_of(signed["Authorization"]))
        assert len(seen) == len(secrets)

    def test_caches_stay_bounded_and_correct(self) -> None:
        """1,000 distinct URLs keep the plan cache bounded and signatures right."""
        signer = SigV4Signer("us-east-1")
        for i in range(1000):
            url = f"https://{KAT_HOST}/graphql?i={i}"
            signed = signer.sign("POST", url, {}, b"{}", CREDS, now=KAT_NOW)
            if i % 97 == 0:
                assert signed["Authorization"].endswith(
                    _expected_signature(signed, b"{}", SECRET, url)
                )
        assert len(signer._plans) <= 256

    def test_same_url_other_headers(self) -> None:
        """Changing a header value on a cached URL changes the signature correctly."""
        signer = SigV4Signer("us-east-1")
        for value in ("a", "b", "a"):
            signed = signer.sign("POST", URL, {"x-v": value}, b"{}", CREDS, now=KAT_NOW)
            assert signed["Authorization"].endswith(
                _expected_signature(signed, b"{}", SECRET)
            )


class TestCanonicalization:
    @pytest.mark.parametrize(
        ("path", "expected"),
        [
            ("", "/"),
            ("/", "/"),
            ("//a//b//", "/a/b/"),
            ("/a/./b/../c", "/a/c"),
            ("/a/b/../..", "/"),
            ("/../..", "/"),
            ("/a b/é", "/a%20b/%C3%A9"),
            ("/%41", "/%2541"),  # non-S3: the encoded path is encoded again
            ("/~a/!$'()*", "/~a/%21%24%27%28%29%2A"),
        ],
    )
    def test_canonical_uri(self, path: str, expected: str) -> None:
        """Paths are normalized, then (re-)encoded with only unreserved and / kept."""
        assert canonical_uri(path) == expected

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("", ""),
            ("b=2&a=1", "a=1&b=2"),
            ("a=2&a=1", "a=1&a=2"),
            ("Param-3=1&Param=2", "Param=2&Param-3=1"),
            ("a", "a="),
            ("k=a b&é=%e1", "%C3%A9=%E1&k=a%20b"),
            ("k=a+b", "k=a%2Bb"),
            ("k=%7E%2f", "k=~%2F"),
        ],
    )
    def test_canonical_query(self, query: str, expected: str) -> None:
        """Queries are sorted by encoded key then value, RFC 3986-encoded once."""
        assert canonical_query(query) == expected

    def test_header_values_trimmed_and_repeats_joined(self) -> None:
        """Names lowercase, values trimmed and collapsed, repeats comma-joined."""
        pairs = [("X-A", "  1   2 "), ("x-a", "3\n  4"), ("Host", "h"), ("te", "x")]
        creq = canonical_request("get", "https://h/", pairs, EMPTY_SHA256)
        assert creq.split("\n")[:6] == ["GET", "/", "", "host:h", "x-a:1 2,3 4", ""]
        assert creq.split("\n")[6] == "host;x-a"


class TestSecretsStayHidden:
    def test_repr_and_errors_hold_no_secret(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """No log record, repr or error message shows a secret, token or signature."""
        caplog.set_level(logging.DEBUG)
        signer = SigV4Signer("us-east-1")
        signed = signer.sign("POST", URL, {}, b"{}", CREDS)
        texts = [repr(signer), str(signer), repr(CREDS)]
        bad_calls: list[tuple[Iterable[Any], dict[str, Any]]] = [
            (("POST", URL, {}, b"", CREDS), {"now": datetime(2020, 1, 1)}),
            (("POST", "https://h:x/", {}, b"", CREDS), {}),
            (("POST", "/relative", {}, b"", CREDS), {}),
            (("POST", URL, {}, b"", FrozenCredentials(AKID, "", KAT_TOKEN)), {}),
            (("POST", URL, {}, b"", FrozenCredentials("", SECRET, KAT_TOKEN)), {}),
        ]
        for args, kwargs in bad_calls:
            with pytest.raises((ValueError, CredentialsError)) as info:
                signer.sign(*args, **kwargs)
            texts += [str(info.value), repr(info.value)]
        texts += [record.getMessage() for record in caplog.records]
        secrets = [SECRET, KAT_TOKEN, _signature_of(signed["Authorization"])]
        for text in texts:
            assert not any(secret in text for secret in secrets), text

    def test_error_types(self) -> None:
        """Bad URLs, naive datetimes and empty keys raise the documented errors."""
        signer = SigV4Signer("us-east-1")
        with pytest.raises(ConfigurationError):
            signer.sign("POST", "/relative", {}, b"", CREDS)
        with pytest.raises(ValueError, match="timezone-aware"):
            signer.sign("POST", URL, {}, b"", CREDS, now=datetime(2020, 1, 1))
        with pytest.raises(CredentialsError):
            signer.sign("POST", URL, {}, b"", FrozenCredentials(AKID, ""))
        with pytest.raises(ConfigurationError):
            SigV4Signer("")

    def test_repr(self) -> None:
        """The signer's repr names only its region and service."""
        assert repr(SigV4Signer("eu-west-1")) == (
            "SigV4Signer(region='eu-west-1', service='appsync')"
        )
