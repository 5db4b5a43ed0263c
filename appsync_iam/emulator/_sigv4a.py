"""SigV4A (``AWS4-ECDSA-P256-SHA256``) verification, independent of the client.

Never imports ``appsync_iam._signer`` or ``appsync_iam._sigv4a`` (nor
``cryptography``): the canonical request is botocore's (``SigV4Auth`` over
exactly the signed headers, as :mod:`._verifier` does for SigV4), and the
public key and the ECDSA check are plain integer arithmetic on P-256
(FIPS 186-4 curve constants, SEC 1 §4.1.4 verification). Slow (a few ms a
request) and not constant-time: fine for a test server, not for production.

The public key is derived from the principal's secret with aws-c-auth's KDF
(``source/key_derivation.c``): HMAC-SHA256 keyed ``"AWS4A" + secret`` of the
fixed input ``be32(1) | algorithm | 00 | access key | counter | be32(256)``,
counter from 1 until the output is at most n - 2; ``d`` is that plus one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ._principal import Principal
from ._verifier import (
    AMZ_DATE_FORMAT,
    MAX_SKEW,
    S3_SERVICES,
    SignatureRejected,
    Verification,
    _group_headers,
    _wire_auth,
    canonical_query,
)

__all__ = ["SIGV4A_ALGORITHM", "sigv4a_public_key", "verify_sigv4a"]

SIGV4A_ALGORITHM = "AWS4-ECDSA-P256-SHA256"

# P-256 (FIPS 186-4 D.1.2.3): y^2 = x^3 - 3x + b over GF(p), order n.
_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_G = (
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
)
_Point = tuple[int, int] | None  # affine; None is the point at infinity


def _add(p1: _Point, p2: _Point) -> _Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % _P == 0:
            return None
        slope = (3 * x1 * x1 - 3) * pow(2 * y1, -1, _P) % _P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, _P) % _P
    x3 = (slope * slope - x1 - x2) % _P
    return x3, (slope * (x1 - x3) - y1) % _P


def _multiply(k: int, point: _Point) -> _Point:
    result: _Point = None
    addend = point
    while k:
        if k & 1:
            result = _add(result, addend)
        addend = _add(addend, addend)
        k >>= 1
    return result


def _private_scalar(access_key: str, secret_key: str) -> int:
    limit = (_N - 2).to_bytes(32, "big")
    for counter in range(1, 255):
        mac = hmac.new(("AWS4A" + secret_key).encode(), digestmod=hashlib.sha256)
        mac.update((1).to_bytes(4, "big"))
        mac.update(SIGV4A_ALGORITHM.encode() + bytes(1))
        mac.update(access_key.encode() + counter.to_bytes(1, "big"))
        mac.update((256).to_bytes(4, "big"))
        candidate = mac.digest()
        if candidate <= limit:  # same length: byte order is numeric order
            return int(candidate.hex(), 16) + 1
    raise ValueError("no SigV4A key for these credentials")


@lru_cache(maxsize=64)
def sigv4a_public_key(access_key: str, secret_key: str) -> tuple[int, int]:
    """The (x, y) of the P-256 public key SigV4A derives from a key pair."""
    point = _multiply(_private_scalar(access_key, secret_key), _G)
    assert point is not None
    return point


def _der_signature(signature_hex: str) -> tuple[int, int]:
    # SEQUENCE { INTEGER r, INTEGER s }, short-form lengths (P-256 fits).
    der = bytes.fromhex(signature_hex)
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2:
        raise ValueError("not a DER sequence")
    values, pos = [], 2
    for _ in range(2):
        if der[pos] != 0x02:
            raise ValueError("not a DER integer")
        size = der[pos + 1]
        values.append(int.from_bytes(der[pos + 2 : pos + 2 + size], "big"))
        pos += 2 + size
    if pos != len(der):
        raise ValueError("trailing bytes")
    return values[0], values[1]


def ecdsa_p256_verify(
    public: tuple[int, int], message: bytes, signature_hex: str
) -> bool:
    """SEC 1 §4.1.4 ECDSA-SHA256 verification of a hex DER signature."""
    try:
        r, s = _der_signature(signature_hex)
    except (ValueError, IndexError):
        return False
    if not (0 < r < _N and 0 < s < _N):
        return False
    e = int.from_bytes(hashlib.sha256(message).digest(), "big")
    w = pow(s, -1, _N)
    point = _add(_multiply(e * w % _N, _G), _multiply(r * w % _N, public))
    return point is not None and point[0] % _N == r


def _reject(
    status: int, error_type: str, message: str, reason: str = "malformed"
) -> SignatureRejected:
    return SignatureRejected(status, error_type, message, reason=reason)


def _fields(grouped: dict[str, list[str]], query: str) -> tuple[dict[str, str], bool]:
    """The signature fields, from the Authorization header or the query."""
    values = grouped.get("authorization", [])
    if values and values[0].startswith(SIGV4A_ALGORITHM + " "):
        fields: dict[str, str] = {}
        for part in values[0][len(SIGV4A_ALGORITHM) + 1 :].split(","):
            key, _, val = part.strip().partition("=")
            fields[key] = val.strip()
        dates = grouped.get("x-amz-date", [""])
        fields["Date"] = dates[0].strip()
        fields["Region-Set"] = ",".join(grouped.get("x-amz-region-set", []))
        return fields, False
    params = dict(parse_qsl(query, keep_blank_values=True))
    if params.get("X-Amz-Algorithm") != SIGV4A_ALGORITHM:
        raise _reject(403, "IncompleteSignatureException", "Not a SigV4A request.")
    fields = {
        k[len("X-Amz-") :]: v for k, v in params.items() if k.startswith("X-Amz-")
    }
    return fields, True


def verify_sigv4a(**request: Any) -> Principal:
    """The principal that SigV4A-signed this request, else :class:`SignatureRejected`.

    Keyword arguments: ``method``, ``path``, ``query`` (raw), ``headers``,
    ``body``, ``principals``, and optional ``service``, ``region`` and ``now``
    (see :func:`sigv4a_verification`).
    """
    return sigv4a_verification(**request).principal


def sigv4a_verification(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, Any],
    body: bytes,
    principals: Mapping[str, Principal],
    service: str | None = None,
    region: str | None = None,
    now: datetime | None = None,
) -> Verification:
    """What a SigV4A-signed request proved, else :class:`SignatureRejected`.

    Header form (``Authorization: AWS4-ECDSA-P256-SHA256 ...`` with
    ``X-Amz-Region-Set``) or query form (presigned: ``X-Amz-Algorithm`` ...
    ``X-Amz-Signature``). ``path`` and ``query`` are raw; ``service`` None
    accepts any scope; ``region`` (the region this server stands for) must be
    matched by the signed region set (``*`` and ``us-*`` wildcards).
    """
    grouped = _group_headers(headers)
    try:
        fields, presigned = _fields(grouped, query)
        access_key, date, scope_service, terminator = fields["Credential"].split("/")
        names = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
        amz_date = fields["Date"]
        signed_at = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(
            tzinfo=timezone.utc
        )
        region_set = fields["Region-Set"].split(",")
    except (KeyError, ValueError):
        raise _reject(
            403, "IncompleteSignatureException", "Malformed SigV4A signature fields."
        ) from None
    principal = principals.get(access_key)
    if principal is None:
        raise _reject(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            reason="unknown_key",
        )
    if date != amz_date[:8] or terminator != "aws4_request":
        raise _reject(
            403,
            "InvalidSignatureException",
            "Credential scope does not match the date.",
            reason="scope",
        )
    if service is not None and scope_service != service:
        raise _reject(
            403,
            "InvalidSignatureException",
            f"Credential should be scoped to correct service: '{service}'.",
            reason="scope",
        )
    if region is not None and not any(
        fnmatchcase(region, r.strip()) for r in region_set
    ):
        raise _reject(
            403,
            "InvalidSignatureException",
            f"The region set does not include '{region}'.",
            reason="scope",
        )
    clock = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    latest = signed_at + (
        timedelta(seconds=int(fields.get("Expires", "0"))) if presigned else MAX_SKEW
    )
    if not signed_at - MAX_SKEW <= clock <= latest:
        raise _reject(
            403,
            "InvalidSignatureException",
            "Signature expired or not yet current.",
            reason="presign_expired" if presigned else "skew",
        )
    token = fields.get("Security-Token") if presigned else None
    if not presigned:
        sent = grouped.get("x-amz-security-token", [])
        token = ",".join(v.strip() for v in sent) if sent else None
        if sent and "x-amz-security-token" not in names:
            raise _reject(
                403, "IncompleteSignatureException", "The session token must be signed."
            )
    expected = (principal.token or "").encode()
    if not hmac.compare_digest((token or "").encode("utf-8", "replace"), expected):
        raise _reject(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            reason="bad_token",
        )
    required = {"host"} if presigned else {"host", "x-amz-date", "x-amz-region-set"}
    if not required <= set(names):
        raise _reject(
            403,
            "IncompleteSignatureException",
            f"SignedHeaders must include {', '.join(sorted(required))}.",
        )
    if any(name not in grouped for name in names):
        raise _reject(403, "IncompleteSignatureException", "A SignedHeader is missing.")
    signed = [(name, value) for name in names for value in grouped[name]]
    sha = grouped.get("x-amz-content-sha256")
    if sha is not None and (
        len(sha) != 1
        or sha[0].strip() not in ("UNSIGNED-PAYLOAD", hashlib.sha256(body).hexdigest())
    ):
        raise _reject(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what "
            "was computed.",
            reason="content_sha256",
        )
    # AWS decodes the query and encodes each key and value again (clients
    # such as yarl send "/" and "*" unencoded): the emulator's canonical_query.
    unsigned = "&".join(
        pair for pair in query.split("&") if not pair.startswith("X-Amz-Signature=")
    )
    url = "https://emulator.invalid" + (path or "/")
    request = AWSRequest(method=method.upper(), url=url, data=body)
    request.params = {}  # the query is canonicalized below, not by botocore
    if sha is not None:
        payload_hash = sha[0].strip()
    elif presigned and scope_service in S3_SERVICES:
        payload_hash = "UNSIGNED-PAYLOAD"
    else:
        payload_hash = hashlib.sha256(body).hexdigest()
    auth = _wire_auth(
        Credentials(access_key, "unused"), scope_service, "unused", signed, payload_hash
    )
    try:
        lines = auth.canonical_request(request).split("\n")
    except UnicodeError:
        raise _reject(
            403,
            "InvalidSignatureException",
            "Signed header values must be valid UTF-8.",
        ) from None
    lines[2] = canonical_query(unsigned)  # method, path, query, headers...
    canonical = "\n".join(lines)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    string_to_sign = (
        f"{SIGV4A_ALGORITHM}\n{amz_date}\n{date}/{scope_service}/aws4_request\n{digest}"
    )
    public = sigv4a_public_key(access_key, principal.secret_key)
    if not ecdsa_p256_verify(public, string_to_sign.encode(), signature):
        raise _reject(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature "
            "you provided.",
            reason="mismatch",
        )
    return Verification(
        principal=principal,
        service=scope_service,
        region=",".join(region_set),
        auth="query" if presigned else "header",
        signed_headers=tuple(names),
        payload_hash=payload_hash,
        expires=int(fields["Expires"]) if presigned else None,
    )


def is_sigv4a(headers: Mapping[str, Any], query: str) -> bool:
    """Whether a request is SigV4A-signed (header or presigned form)."""
    authorization = str(headers.get("Authorization", ""))
    return authorization.startswith(SIGV4A_ALGORITHM + " ") or (
        f"X-Amz-Algorithm={SIGV4A_ALGORITHM}" in query
    )
