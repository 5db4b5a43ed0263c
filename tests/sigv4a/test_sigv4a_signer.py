"""SigV4ASigner behaviour, and the emulator's verifier rejecting tampering."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from appsync_iam import (
    ConfigurationError,
    CredentialsError,
    FrozenCredentials,
    SigV4ASigner,
)
from appsync_iam._sigv4a import derive_private_key, derive_private_scalar
from appsync_iam.emulator import (
    Principal,
    SignatureRejected,
    sigv4a_public_key,
    verify_sigv4a,
)

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLETOKEN/+=="
NOW = 1_764_748_800  # 2025-12-03T08:00:00Z
URL = "https://api.example.com:8443/v1/items/a%20b?q=%E2%82%AC&x=1&x=0"
BODY = b'{"item": "caf\xc3\xa9"}'
HEADERS = {"content-type": "application/json", "x-custom": "  two  spaces  "}


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def principals(token: str | None = None) -> dict[str, Principal]:
    return {AKID: Principal(AKID, SECRET, token)}


def verify_signed(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    token: str | None = None,
    region: str | None = "eu-west-1",
    service: str | None = "execute-api",
    now: float = NOW,
) -> Principal:
    parts = urlsplit(url)
    return verify_sigv4a(
        method=method,
        path=parts.path,
        query=parts.query,
        headers=headers,
        body=body,
        principals=principals(token),
        service=service,
        region=region,
        now=at(now),
    )


def signed(token: str | None = None, **kwargs: Any) -> dict[str, str]:
    signer = SigV4ASigner("execute-api", region_set=["us-east-1", "eu-west-1"])
    creds = FrozenCredentials(AKID, SECRET, token)
    return signer.sign("POST", URL, HEADERS, BODY, creds, now=NOW, **kwargs)


class TestSigner:
    def test_headers_added(self) -> None:
        headers = signed(TOKEN)
        assert headers["host"] == "api.example.com:8443"
        assert headers["x-amz-date"] == "20251203T080000Z"
        assert headers["x-amz-region-set"] == "us-east-1,eu-west-1"
        assert headers["X-Amz-Security-Token"] == TOKEN
        assert headers["x-amz-content-sha256"] == hashlib.sha256(BODY).hexdigest()
        assert headers["Authorization"].startswith(
            "AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/20251203/execute-api/"
            "aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;"
            "x-amz-date;x-amz-region-set;x-amz-security-token;x-custom, Signature=30"
        )

    def test_signatures_are_randomized_and_all_verify(self) -> None:
        first, second = signed(TOKEN), signed(TOKEN)
        assert first["Authorization"] != second["Authorization"]
        for headers in (first, second):
            assert verify_signed("POST", URL, headers, BODY, token=TOKEN)

    def test_stale_signature_headers_replaced(self) -> None:
        stale = signed(TOKEN)
        stale["x-amz-region-set"] = "ap-south-1"
        signer = SigV4ASigner("execute-api", region_set="eu-*")
        creds = FrozenCredentials(AKID, SECRET, TOKEN)
        fresh = signer.sign("POST", URL, stale, BODY, creds, now=NOW)
        assert fresh["x-amz-region-set"] == "eu-*"
        assert sum(name.lower() == "authorization" for name in fresh) == 1
        assert verify_signed("POST", URL, fresh, BODY, token=TOKEN)

    def test_payload_hash_and_unsigned_payload(self) -> None:
        creds = FrozenCredentials(AKID, SECRET)
        signer = SigV4ASigner("s3", region_set="*")
        url = "https://mrap.accesspoint.s3-global.amazonaws.com/key"
        headers = signer.sign(
            "PUT", url, {}, b"", creds, now=NOW, payload_hash="UNSIGNED-PAYLOAD"
        )
        assert headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
        assert verify_signed("PUT", url, headers, b"streamed", service="s3")

    def test_presigned_url_verifies_with_token(self) -> None:
        signer = SigV4ASigner("execute-api", region_set="*")
        creds = FrozenCredentials(AKID, SECRET, TOKEN)
        url = signer.presign("GET", URL, creds, expires=60, now=NOW)
        params = dict(parse_qsl(urlsplit(url).query))
        assert params["X-Amz-Region-Set"] == "*"
        assert params["X-Amz-Security-Token"] == TOKEN
        assert params["X-Amz-Expires"] == "60"
        host = {"host": "api.example.com:8443"}
        assert verify_signed("GET", url, host, b"", token=TOKEN, now=NOW + 59)
        with pytest.raises(SignatureRejected):  # expired
            verify_signed("GET", url, host, b"", token=TOKEN, now=NOW + 61)

    def test_presigning_again_replaces_the_old_signature(self) -> None:
        creds = FrozenCredentials(AKID, SECRET, TOKEN)
        first = SigV4ASigner("execute-api", region_set="*").presign(
            "GET", URL, creds, now=NOW
        )
        again = SigV4ASigner("execute-api", region_set="eu-*").presign(
            "GET", first, creds, expires=30, now=NOW + 1
        )
        names = [k for k, _ in parse_qsl(urlsplit(again).query)]
        assert sorted(names) == sorted(
            ["q", "x", "x", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
             "X-Amz-SignedHeaders", "X-Amz-Expires", "X-Amz-Region-Set",
             "X-Amz-Security-Token", "X-Amz-Signature"]
        )  # fmt: skip
        assert dict(parse_qsl(urlsplit(again).query))["X-Amz-Region-Set"] == "eu-*"
        host = {"host": "api.example.com:8443"}
        assert verify_signed("GET", again, host, b"", token=TOKEN, now=NOW + 2)

    @pytest.mark.parametrize(
        ("region_set", "value"),
        [
            ("*", "*"),
            ("us-east-1", "us-east-1"),
            (["us-east-1", "eu-west-1"], "us-east-1,eu-west-1"),
            ("us-east-1, eu-*", "us-east-1,eu-*"),
        ],
    )
    def test_region_set_spellings(self, region_set: Any, value: str) -> None:
        assert SigV4ASigner("s3", region_set=region_set).region_set == value

    @pytest.mark.parametrize("region_set", ["", [], ["us-east-1", ""], "us east"])
    def test_bad_region_set(self, region_set: Any) -> None:
        with pytest.raises(ConfigurationError, match="region_set"):
            SigV4ASigner("s3", region_set=region_set)

    @pytest.mark.parametrize("expires", [0, -1, 604801, 1.5])
    def test_bad_expires(self, expires: Any) -> None:
        signer = SigV4ASigner("s3")
        with pytest.raises(ConfigurationError, match="expires"):
            signer.presign("GET", URL, FrozenCredentials(AKID, SECRET), expires=expires)

    def test_missing_key_and_no_service(self) -> None:
        with pytest.raises(CredentialsError):
            SigV4ASigner().sign("GET", URL, {}, b"", FrozenCredentials("", SECRET))
        with pytest.raises(ConfigurationError):
            SigV4ASigner("")

    def test_repr_holds_no_secret(self) -> None:
        signer = SigV4ASigner("s3", region_set=["us-east-1"])
        assert repr(signer) == "SigV4ASigner(service='s3', region_set='us-east-1')"

    def test_derived_key_cached_per_key_pair(self) -> None:
        derive_private_key.cache_clear()
        signed()
        signed(TOKEN)
        assert derive_private_key.cache_info().misses == 1
        other = FrozenCredentials(AKID, SECRET + "x")
        SigV4ASigner().sign("GET", URL, {}, b"", other, now=NOW)
        assert derive_private_key.cache_info().misses == 2
        assert derive_private_scalar(AKID, SECRET) != derive_private_scalar(
            AKID, SECRET + "x"
        )

    def test_default_now(self) -> None:
        headers = SigV4ASigner("execute-api").sign(
            "GET", URL, {}, b"", FrozenCredentials(AKID, SECRET)
        )
        assert verify_signed("GET", URL, headers, b"", region=None, now=time.time())


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )


class TestOptionalDependency:
    def test_nothing_imported_until_used(self) -> None:
        result = _run(
            "import sys, appsync_iam as a\n"
            "s = a.SigV4ASigner('s3')\n"
            "assert 'cryptography' not in sys.modules\n"
            "s.sign('GET', 'https://h/', {}, b'', a.FrozenCredentials('AKID', 'k'))\n"
            "assert 'cryptography' in sys.modules\n"
        )
        assert result.returncode == 0, result.stderr

    def test_missing_extra_named(self) -> None:
        # A subprocess where `cryptography` cannot be imported (as when the
        # extra is not installed).
        result = _run(
            "import sys; sys.modules['cryptography'] = None\n"
            "import appsync_iam as a\n"
            "try:\n"
            "    a.SigV4ASigner('s3').sign('GET', 'https://h/', {}, b'',\n"
            "                              a.FrozenCredentials('AKID', 'k'))\n"
            "except a.ConfigurationError as e:\n"
            "    print(e)\n"
        )
        assert result.returncode == 0, result.stderr
        assert "pip install 'appsync_iam[sigv4a]'" in result.stdout


# --- the emulator's verifier: tampering ------------------------------------

Tamper = Callable[[dict[str, Any]], None]


def _set_header(name: str, value: str) -> Tamper:
    def tamper(request: dict[str, Any]) -> None:
        request["headers"][name] = value

    return tamper


def _set(key: str, value: Any) -> Tamper:
    def tamper(request: dict[str, Any]) -> None:
        request[key] = value

    return tamper


def _flip_signature(request: dict[str, Any]) -> None:
    auth = request["headers"]["Authorization"]
    last = "0" if auth[-1] != "0" else "1"
    request["headers"]["Authorization"] = auth[:-1] + last


TAMPERS: dict[str, tuple[Tamper, str]] = {
    "method": (_set("method", "PUT"), "InvalidSignatureException"),
    "path": (_set("path", "/v1/items/a%20c"), "InvalidSignatureException"),
    "query": (_set("query", "q=%E2%82%AC&x=1&x=1"), "InvalidSignatureException"),
    "signed header": (_set_header("x-custom", "other"), "InvalidSignatureException"),
    "region set widened": (
        _set_header("x-amz-region-set", "*"),
        "InvalidSignatureException",
    ),
    "body": (_set("body", BODY + b" "), "XAmzContentSHA256Mismatch"),
    "token": (
        _set_header("X-Amz-Security-Token", TOKEN + "x"),
        "UnrecognizedClientException",
    ),
    "date": (
        _set_header("x-amz-date", "20251203T080001Z"),
        "InvalidSignatureException",
    ),
    "signature": (_flip_signature, "InvalidSignatureException"),
}


class TestVerifierRejects:
    @pytest.mark.parametrize("name", sorted(TAMPERS))
    def test_tampering(self, name: str) -> None:
        parts = urlsplit(URL)
        request: dict[str, Any] = {
            "method": "POST",
            "path": parts.path,
            "query": parts.query,
            "headers": signed(TOKEN),
            "body": BODY,
        }
        tamper, error_type = TAMPERS[name]
        tamper(request)
        with pytest.raises(SignatureRejected) as info:
            verify_sigv4a(
                **request,
                principals=principals(TOKEN),
                service="execute-api",
                now=at(NOW),
            )
        assert info.value.error_type == error_type
        assert SECRET not in str(info.value) and TOKEN not in str(info.value)

    def test_region_outside_the_set(self) -> None:
        with pytest.raises(SignatureRejected, match="region set"):
            verify_signed("POST", URL, signed(), BODY, region="ap-south-1")

    def test_wrong_service(self) -> None:
        with pytest.raises(SignatureRejected, match="service"):
            verify_signed("POST", URL, signed(), BODY, service="lambda")

    def test_clock_skew(self) -> None:
        with pytest.raises(SignatureRejected, match="expired"):
            verify_signed("POST", URL, signed(), BODY, now=NOW + 301)

    def test_unknown_key_and_wrong_secret(self) -> None:
        other = FrozenCredentials("AKIDOTHER", SECRET)
        headers = SigV4ASigner("execute-api").sign("GET", URL, {}, b"", other, now=NOW)
        with pytest.raises(SignatureRejected, match="security token"):
            verify_signed("GET", URL, headers, b"")
        wrong = FrozenCredentials(AKID, "not-the-secret")
        headers = SigV4ASigner("execute-api").sign("GET", URL, {}, b"", wrong, now=NOW)
        with pytest.raises(SignatureRejected, match="does not match"):
            verify_signed("GET", URL, headers, b"")

    def test_token_expected_or_unexpected(self) -> None:
        with pytest.raises(SignatureRejected, match="security token"):
            verify_signed("POST", URL, signed(), BODY, token=TOKEN)
        with pytest.raises(SignatureRejected, match="security token"):
            verify_signed("POST", URL, signed(TOKEN), BODY)

    def test_unsigned_token_rejected(self) -> None:
        signer = SigV4ASigner("execute-api")
        headers = signer.sign(
            "GET", URL, {}, b"", FrozenCredentials(AKID, SECRET), now=NOW
        )
        headers["X-Amz-Security-Token"] = TOKEN
        with pytest.raises(SignatureRejected, match="must be signed"):
            verify_signed("GET", URL, headers, b"", token=TOKEN)

    def test_presigned_tampered_query(self) -> None:
        signer = SigV4ASigner("execute-api")
        url = signer.presign("GET", URL, FrozenCredentials(AKID, SECRET), now=NOW)
        host = {"host": "api.example.com:8443"}
        with pytest.raises(SignatureRejected, match="does not match"):
            verify_signed("GET", url.replace("x=0", "x=2"), host, b"")
        with pytest.raises(SignatureRejected, match="does not match"):
            verify_signed("GET", url.replace("Expires=900", "Expires=901"), host, b"")

    def test_public_key_matches_the_signers(self) -> None:
        numbers = derive_private_key(AKID, SECRET).public_key().public_numbers()
        assert sigv4a_public_key(AKID, SECRET) == (numbers.x, numbers.y)

    def test_region_set_and_date_must_be_signed(self) -> None:
        headers = signed()
        auth = headers["Authorization"]
        headers["Authorization"] = auth.replace("x-amz-region-set;", "")
        with pytest.raises(SignatureRejected, match="x-amz-region-set"):
            verify_signed("POST", URL, headers, BODY)

    def test_skew_window_edges(self) -> None:
        assert verify_signed("POST", URL, signed(), BODY, now=NOW + 300)
        assert verify_signed("POST", URL, signed(), BODY, now=NOW - 300)
        with pytest.raises(SignatureRejected):
            verify_signed(
                "POST",
                URL,
                signed(),
                BODY,
                now=(at(NOW) - timedelta(seconds=301)).timestamp(),
            )
