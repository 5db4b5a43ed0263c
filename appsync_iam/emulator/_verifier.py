"""SigV4 verification from what arrived on the wire, with botocore as the oracle.

The emulator never imports the client's signer (``appsync_iam._signer``): a
signer bug must not hide behind a verifier that shares its code. The
signature is recomputed the way botocore's own ``tests/unit/auth/test_sigv4.py``
does: ``request.context["timestamp"] = x-amz-date``, then
``canonical_request``, ``string_to_sign`` and ``signature`` of
``botocore.auth.SigV4Auth``, over exactly the headers named in
``SignedHeaders`` (botocore's blacklist of unsignable headers does not apply
to what a client chose to sign).

Each rejection carries AppSync's HTTP status, ``errorType`` and message
(protocol doc §1.4). Messages never contain a secret key, and the canonical
string echoed in ``InvalidSignatureException`` has the session token redacted.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from .._errors import redact
from ._principal import Principal

__all__ = ["SigV4Verifier", "SignatureRejected", "Verification", "canonical_query"]

log = logging.getLogger("appsync_iam.emulator")

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
#: How far x-amz-date may be from the emulator's clock (IAM user guide).
MAX_SKEW = timedelta(minutes=5)

_AMZ_DATE_RE = re.compile(r"\d{8}T\d{6}Z")

_MISMATCH = (
    "The request signature we calculated does not match the signature you "
    "provided. Check your AWS Secret Access Key and signing method. Consult "
    "the service documentation for details.\n\n"
    "The Canonical String for this request should have been\n'{canonical}'\n\n"
    "The String-to-Sign should have been\n'{string_to_sign}'\n"
)


class SignatureRejected(Exception):
    """A request failed IAM verification; carries AppSync's answer for it.

    ``status`` is the HTTP status, ``error_type`` the ``errorType`` /
    ``x-amzn-ErrorType`` value and ``message`` the text AppSync would send.
    The message never holds a secret key or a session token.
    """

    #: Why, independently of any service's wording (what :class:`SigV4Server`
    #: maps to S3's, API Gateway's or Lambda's answer): ``missing``,
    #: ``malformed``, ``unknown_key``, ``bad_token``, ``expired_token``,
    #: ``mismatch``, ``scope``, ``skew``, ``content_sha256``,
    #: ``missing_content_sha256``, ``presign_expired``, ``unsupported``.
    reason: str

    def __init__(
        self,
        status: int,
        error_type: str,
        message: str,
        *,
        reason: str = "malformed",
        details: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, error_type, message)
        self.status = status
        self.error_type = error_type
        self.message = message
        self.reason = reason
        #: Facts a service echoes in its answer (e.g. S3's ``CanonicalRequest``,
        #: ``RequestTime``, ``Region``); never a secret key or session token.
        self.details: Mapping[str, str] = dict(details or {})

    #: On a signature mismatch: the canonical request (session token
    #: redacted) and string to sign the server expected, which S3 echoes as
    #: ``CanonicalRequest`` / ``StringToSign``; None otherwise.
    echo: _Echo | None = None

    def with_echo(
        self, canonical_request: str, string_to_sign: str
    ) -> SignatureRejected:
        self.echo = _Echo(canonical_request, string_to_sign)
        return self

    def __str__(self) -> str:
        return f"{self.status} {self.error_type}: {self.message}"


@dataclass(frozen=True, slots=True, repr=False)
class _Echo:
    canonical_request: str
    string_to_sign: str

    def __repr__(self) -> str:  # the message already shows both
        return "<expected canonical request and string to sign>"


def _incomplete(message: str) -> SignatureRejected:
    return SignatureRejected(403, "IncompleteSignatureException", message)


def _invalid(
    message: str, reason: str = "mismatch", **details: str
) -> SignatureRejected:
    return SignatureRejected(
        403, "InvalidSignatureException", message, reason=reason, details=details
    )


def _unrecognized(reason: str = "bad_token", **details: str) -> SignatureRejected:
    return SignatureRejected(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        reason=reason,
        details=details,
    )


@dataclass(frozen=True, slots=True)
class _Authorization:
    """The parsed ``Authorization`` header (the signature is not secret once sent,
    but it is kept out of reprs anyway)."""

    access_key: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str

    def __repr__(self) -> str:
        return f"_Authorization(access_key={self.access_key!r}, ...)"


def _parse_authorization(value: str) -> _Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete(f"Authorization header requires the '{ALGORITHM}' algorithm.")
    params: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, val = part.strip().partition("=")
        if sep:
            params[key.strip()] = val.strip()
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not params.get(name)
    ]
    if missing:
        raise _incomplete(" ".join(missing))
    credential = params["Credential"].split("/")
    if len(credential) != 5 or not all(credential):
        raise _incomplete(
            "Credential must have exactly 5 slash-delimited elements, "
            "e.g. keyid/date/region/service/term."
        )
    access_key, date, region, service, terminator = credential
    return _Authorization(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=tuple(params["SignedHeaders"].split(";")),
        signature=params["Signature"],
    )


def _group_headers(headers: Mapping[str, Any]) -> dict[str, list[str]]:
    """Lowercased name → every value, in arrival order (repeats are kept).

    Works for aiohttp's ``CIMultiDictProxy`` (``items()`` yields repeats) and
    for the plain dict of a real-time header object.
    """
    grouped: dict[str, list[str]] = {}
    for name, value in headers.items():
        grouped.setdefault(str(name).lower(), []).append(str(value))
    return grouped


#: Services whose requests S3's rules apply to (botocore ``S3SigV4Auth``):
#: the path is signed as sent (no normalization, no second encoding) and
#: ``x-amz-content-sha256`` is required.
S3_SERVICES = frozenset({"s3", "s3-object-lambda", "s3-outposts", "s3express"})
#: Services that require ``x-amz-content-sha256`` (OpenSearch Serverless
#: documents it as required; S3 does).
CONTENT_SHA256_REQUIRED = S3_SERVICES | {"aoss"}
#: S3 allows 15 minutes of clock skew (``RequestTimeTooSkewed``,
#: ``MaxAllowedSkewMilliseconds`` 900000); IAM's other services 5 minutes.
S3_MAX_SKEW = timedelta(minutes=15)
#: The longest ``X-Amz-Expires`` SigV4 accepts (7 days).
MAX_PRESIGN_EXPIRES = 604800

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)


def _wire_auth(
    credentials: Credentials,
    service: str,
    region: str,
    signed: Iterable[tuple[str, str]],
    payload_hash: str,
) -> SigV4Auth:
    """botocore's SigV4 (S3's variant for S3 services) over exactly the headers
    the client listed as signed, with the payload hash the request declared."""
    base: type[SigV4Auth] = S3SigV4Auth if service in S3_SERVICES else SigV4Auth
    signed_list = list(signed)

    class _Wire(base):  # type: ignore[valid-type,misc]
        def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
            header_map = HTTPHeaders()
            for name, value in signed_list:
                header_map[name] = value  # email.message semantics: appends
            return header_map

        def payload(self, request: AWSRequest) -> str:
            return payload_hash

    return _Wire(credentials, service, region)


def canonical_query(query: str) -> str:
    """The canonical query string AWS computes from a raw query string: each
    name and value percent-decoded, then encoded again with SigV4's rule
    (everything but ``A-Za-z0-9-_.~``), pairs sorted by name then value.

    A ``+`` is a literal plus (``%2B``), not a space: SigV4 never decodes
    form-style. Undecodable escapes are kept as sent.
    """
    pairs: list[tuple[str, str]] = []
    for part in query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((_reencode(name), _reencode(value)))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _reencode(text: str) -> str:
    return quote(unquote_to_bytes(text), safe="-_.~")


@dataclass(frozen=True, slots=True)
class _Computed:
    canonical_request: str
    string_to_sign: str
    signature: str


@dataclass(frozen=True, slots=True)
class Verification:
    """What a verified request proved: who signed it, for which scope, how.

    ``auth`` is ``"header"`` (``Authorization``) or ``"query"`` (a presigned
    URL); ``payload_hash`` is the hash that was signed (a hex SHA-256,
    ``UNSIGNED-PAYLOAD``, or None when the body hash is checked by the caller
    after streaming, see :meth:`SigV4Verifier.verify_request`).
    """

    principal: Principal
    service: str
    region: str
    auth: str
    signed_headers: tuple[str, ...]
    payload_hash: str | None
    expires: int | None = None

    def __repr__(self) -> str:
        return (
            f"Verification(access_key={self.principal.access_key!r}, "
            f"service={self.service!r}, region={self.region!r}, auth={self.auth!r})"
        )


class SigV4Verifier:
    """Checks a SigV4-signed request against known principals, like AWS does.

    ``principals`` maps access key ids to :class:`Principal`; it is read on
    every call, so a live dict may change between requests. ``now`` returns
    the verifier's aware UTC time (the emulator's clock, offset included).

    ``region`` and ``service`` are what the credential scope must name; None
    accepts whatever the scope names (and verifies with it). S3 services get
    S3's rules (see :data:`S3_SERVICES`). ``presigned`` accepts query-string
    authentication (``X-Amz-Signature`` in the URL). ``unsigned_payload``
    accepts ``x-amz-content-sha256: UNSIGNED-PAYLOAD``. ``normalize_query``
    canonicalizes the query string as AWS does (:func:`canonical_query`)
    instead of taking it as sent. AppSync's emulator uses the defaults.
    """

    def __init__(
        self,
        principals: Mapping[str, Principal],
        region: str | None,
        *,
        service: str | None = "appsync",
        now: Callable[[], datetime],
        presigned: bool = False,
        unsigned_payload: bool = False,
        normalize_query: bool = False,
    ) -> None:
        self._principals = principals
        self.region = region
        self.service = service
        self._now = now
        self.presigned = presigned
        self.unsigned_payload = unsigned_payload
        self.normalize_query = normalize_query

    def verify(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, Any],
        body: bytes,
    ) -> Principal:
        """The principal that signed this request, or raise :class:`SignatureRejected`.

        ``path`` and ``query`` are the raw (still percent-encoded) parts of the
        request target; ``headers`` any mapping, matched case-insensitively;
        ``body`` the exact bytes received.
        """
        return self.verify_request(
            method=method, path=path, query=query, headers=headers, body=body
        ).principal

    def verify_request(
        self,
        *,
        method: str,
        path: str,
        query: str,
        headers: Mapping[str, Any],
        body: bytes | None,
    ) -> Verification:
        """Like :meth:`verify`, with what was verified.

        ``body=None`` means the body has not been read yet: allowed only when
        the request declares its hash in ``x-amz-content-sha256`` (or sends
        ``UNSIGNED-PAYLOAD`` / a presigned URL); the caller then hashes the
        body as it streams and compares it with
        :attr:`Verification.payload_hash` (S3 also fails such a request only
        once the body has arrived). Otherwise :class:`ValueError`.
        """
        grouped = _group_headers(headers)
        if self.presigned and _has_query_auth(query):
            return self._verify_query(method, path, query, grouped, body)
        auth = self._authorization(grouped)
        amz_date = self._amz_date(grouped)
        signed = self._signed_headers(auth, grouped)
        principal = self._principals.get(auth.access_key)
        if principal is None:
            raise _unrecognized("unknown_key", access_key=auth.access_key)
        service, region = self._check_scope(auth, amz_date)
        self._check_clock(amz_date, service)
        self._check_token(principal, auth.signed_headers, grouped)
        payload_hash = self._payload_hash(grouped, body, service)
        computed = self._compute(
            principal, amz_date, service, region, method=method, path=path,
            query=query, signed=signed,
            payload_hash=payload_hash or grouped["x-amz-content-sha256"][0].strip(),
        )  # fmt: skip
        self._compare(computed, auth.signature, principal, grouped)
        return Verification(
            principal, service, region, "header",
            tuple(name.lower() for name in auth.signed_headers),
            payload_hash if payload_hash is not None
            else grouped["x-amz-content-sha256"][0].strip(),
        )  # fmt: skip

    # -- the checks, in the order AppSync appears to apply them ------------

    @staticmethod
    def _authorization(grouped: dict[str, list[str]]) -> _Authorization:
        values = grouped.get("authorization", [])
        if not values or not values[0].strip():
            raise SignatureRejected(
                401,
                "UnauthorizedException",
                "Valid authorization header not provided.",
                reason="missing",
            )
        if len(values) > 1:
            raise _incomplete("Only one Authorization header may be sent.")
        return _parse_authorization(values[0])

    @staticmethod
    def _amz_date(grouped: dict[str, list[str]]) -> str:
        values = grouped.get("x-amz-date", [])
        if not values:
            raise _incomplete(
                "Authorization header requires existence of a 'X-Amz-Date' header."
            )
        if len(values) > 1:
            raise _bad_date(values[0])
        return _parse_amz_date(values[0])

    @staticmethod
    def _signed_headers(
        auth: _Authorization, grouped: dict[str, list[str]]
    ) -> list[tuple[str, str]]:
        names = [name.lower() for name in auth.signed_headers]
        if "host" not in names:
            raise _incomplete(
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                "Authorization."
            )
        if "x-amz-date" not in names:
            raise _incomplete(
                "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."
            )
        return _signed_values(names, grouped)

    def _check_scope(self, auth: _Authorization, amz_date: str) -> tuple[str, str]:
        if auth.date != amz_date[:8]:
            raise _invalid(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                f"version of date from HTTP: '{auth.date}' != '{amz_date[:8]}', "
                f"from '{amz_date}'.",
                "scope",
            )
        region = self.region if self.region is not None else auth.region
        service = self.service if self.service is not None else auth.service
        if auth.region != region:
            raise _invalid(
                f"Credential should be scoped to a valid region, not "
                f"'{auth.region}'. Expected '{region}'.",
                "scope",
                Region=region,
            )
        if auth.service != service:
            raise _invalid(
                f"Credential should be scoped to correct service: '{service}'.",
                "scope",
            )
        if auth.terminator != "aws4_request":
            raise _invalid(
                "Credential should be scoped with a valid terminator: "
                f"'aws4_request', not '{auth.terminator}'.",
                "scope",
            )
        return service, region

    def _check_clock(self, amz_date: str, service: str) -> None:
        signed_at = _as_datetime(amz_date)
        now = self._now().astimezone(timezone.utc).replace(microsecond=0)
        skew = S3_MAX_SKEW if service in S3_SERVICES else MAX_SKEW
        minutes = int(skew.total_seconds()) // 60
        details = {
            "RequestTime": amz_date,
            "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "MaxAllowedSkewMilliseconds": str(int(skew.total_seconds() * 1000)),
        }
        if signed_at < now - skew:
            raise _invalid(
                f"Signature expired: {amz_date} is now earlier than "
                f"{_fmt(now - skew)} ({_fmt(now)} - {minutes} min.)",
                "skew",
                **details,
            )
        if signed_at > now + skew:
            raise _invalid(
                f"Signature not yet current: {amz_date} is still later than "
                f"{_fmt(now + skew)} ({_fmt(now)} + {minutes} min.)",
                "skew",
                **details,
            )

    def _check_token(
        self,
        principal: Principal,
        signed_headers: Iterable[str],
        grouped: dict[str, list[str]],
        sent: list[str] | None = None,
    ) -> None:
        if sent is None:
            sent = grouped.get("x-amz-security-token")
        if principal.token is None:
            if sent:
                raise _unrecognized()
        else:
            if not sent or len(sent) > 1:
                raise _unrecognized()
            if not hmac.compare_digest(
                sent[0].strip().encode("utf-8", "replace"), principal.token.encode()
            ):
                raise _unrecognized()
            # AppSync expects the token signed (protocol doc §1.3, every AWS
            # example lists it in SignedHeaders); in a presigned URL it is a
            # query parameter, signed with the rest of the query.
            if grouped.get("x-amz-security-token") and "x-amz-security-token" not in (
                h.lower() for h in signed_headers
            ):
                raise _incomplete(
                    "'x-amz-security-token' must be a 'SignedHeader' when a "
                    "session token is sent."
                )
        if principal.expires_at is not None and self._now() >= principal.expires_at:
            raise SignatureRejected(
                403,
                "ExpiredTokenException",
                "The security token included in the request is expired",
                reason="expired_token",
            )

    def _payload_hash(
        self, grouped: dict[str, list[str]], body: bytes | None, service: str
    ) -> str | None:
        """The payload hash to sign with; None: the declared one, to be checked
        by the caller once the body has streamed in."""
        values = grouped.get("x-amz-content-sha256")
        if values is None:
            if service in CONTENT_SHA256_REQUIRED:
                raise SignatureRejected(
                    400,
                    "InvalidRequest",
                    "Missing required header for this request: x-amz-content-sha256",
                    reason="missing_content_sha256",
                )
            if body is None:
                raise ValueError("the body is needed: no x-amz-content-sha256")
            return hashlib.sha256(body).hexdigest()
        declared = values[0].strip()
        if len(values) == 1 and declared == UNSIGNED_PAYLOAD and self.unsigned_payload:
            return UNSIGNED_PAYLOAD
        if len(values) == 1 and declared.startswith("STREAMING-"):
            # aws-chunked uploads (S3's STREAMING-AWS4-HMAC-SHA256-PAYLOAD)
            # are not emulated.
            raise SignatureRejected(
                400,
                "NotImplemented",
                f"x-amz-content-sha256 '{declared[:64]}' is not supported by "
                "this emulator.",
                reason="unsupported",
            )
        if body is None and len(values) == 1 and _SHA256_RE.fullmatch(declared):
            return None
        _check_content_sha256(grouped, body if body is not None else b"")
        return declared

    # -- query-string authentication (presigned URLs) -----------------------

    def _verify_query(
        self,
        method: str,
        path: str,
        query: str,
        grouped: dict[str, list[str]],
        body: bytes | None,
    ) -> Verification:
        params = _query_params(query)

        def one(name: str) -> str:
            values = params.get(name)
            if not values or not values[0]:
                raise _presign_malformed(
                    f"Query-string authentication requires the {name} parameter"
                )
            if len(values) > 1:
                raise _presign_malformed(f"{name} may be given only once")
            return values[0]

        for name in _QUERY_AUTH_PARAMS:
            one(name)
        if one("X-Amz-Algorithm") != ALGORITHM:
            raise _presign_malformed(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
        credential = one("X-Amz-Credential").split("/")
        if len(credential) != 5 or not all(credential):
            raise _presign_malformed(
                "X-Amz-Credential must have exactly 5 slash-delimited elements"
            )
        amz_date = _parse_amz_date(one("X-Amz-Date"))
        expires_text = one("X-Amz-Expires") if "X-Amz-Expires" in params else None
        expires: int | None = None
        if expires_text is not None:
            if not expires_text.isdigit():
                raise _presign_malformed("X-Amz-Expires should be a number")
            expires = int(expires_text)
            if expires > MAX_PRESIGN_EXPIRES:
                raise _presign_malformed(
                    "X-Amz-Expires must be less than a week (in seconds) that is "
                    f"{MAX_PRESIGN_EXPIRES}"
                )
        access_key, date, region, service, terminator = credential
        auth = _Authorization(
            access_key, date, region, service, terminator,
            signed_headers=tuple(one("X-Amz-SignedHeaders").split(";")),
            signature=one("X-Amz-Signature"),
        )  # fmt: skip
        names = [name.lower() for name in auth.signed_headers]
        if "host" not in names:
            raise _presign_malformed("X-Amz-SignedHeaders must include host")
        signed = _signed_values(names, grouped)
        principal = self._principals.get(auth.access_key)
        if principal is None:
            raise _unrecognized("unknown_key", access_key=auth.access_key)
        service, region = self._check_scope(auth, amz_date)
        self._check_presign_time(amz_date, expires, service)
        self._check_token(principal, names, grouped, params.get("X-Amz-Security-Token"))
        # botocore: S3SigV4QueryAuth signs UNSIGNED-PAYLOAD, SigV4QueryAuth
        # the body's hash (of an empty body for a GET); a signed
        # x-amz-content-sha256 header wins in both.
        if "x-amz-content-sha256" in names:
            payload_hash = self._payload_hash(grouped, body, service)
        elif service in S3_SERVICES:
            payload_hash = UNSIGNED_PAYLOAD
        else:
            payload_hash = hashlib.sha256(body or b"").hexdigest()
        unsigned_query = "&".join(
            part for part in query.split("&")
            if part.partition("=")[0] != "X-Amz-Signature"
        )  # fmt: skip
        computed = self._compute(
            principal, amz_date, service, region, method=method, path=path,
            query=unsigned_query, signed=signed,
            payload_hash=payload_hash
            or grouped["x-amz-content-sha256"][0].strip(),
        )  # fmt: skip
        self._compare(computed, auth.signature, principal, grouped)
        return Verification(
            principal, service, region, "query", tuple(names),
            payload_hash if payload_hash is not None
            else grouped["x-amz-content-sha256"][0].strip(),
            expires,
        )  # fmt: skip

    def _check_presign_time(
        self, amz_date: str, expires: int | None, service: str
    ) -> None:
        signed_at = _as_datetime(amz_date)
        now = self._now().astimezone(timezone.utc).replace(microsecond=0)
        details = {
            "X-Amz-Expires": str(expires),
            "Expires": (
                (signed_at + timedelta(seconds=expires or 0)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
            ),
            "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if expires is not None and now > signed_at + timedelta(seconds=expires):
            raise SignatureRejected(
                403, "InvalidSignatureException",
                f"Signature expired: {amz_date} is now earlier than "
                f"{_fmt(now - timedelta(seconds=expires))} ({_fmt(now)} - "
                f"{expires} sec.)",
                reason="presign_expired", details=details,
            )  # fmt: skip
        if expires is None:
            # Without X-Amz-Expires the usual skew window applies (botocore
            # always sends it; what AWS does without it is not documented).
            self._check_clock(amz_date, service)
        elif signed_at > now + (S3_MAX_SKEW if service in S3_SERVICES else MAX_SKEW):
            raise SignatureRejected(
                403, "InvalidSignatureException",
                f"Signature not yet current: {amz_date} is still later than "
                f"{_fmt(now)}",
                reason="presign_not_yet", details=details,
            )  # fmt: skip

    # -- the signature itself -----------------------------------------------

    def _compute(
        self,
        principal: Principal,
        amz_date: str,
        service: str,
        region: str,
        *,
        method: str,
        path: str,
        query: str,
        signed: list[tuple[str, str]],
        payload_hash: str,
    ) -> _Computed:
        # The URL host is irrelevant: `host` is always among the signed headers.
        url = "https://emulator.invalid" + (path or "/")
        if self.normalize_query:
            query = canonical_query(query)
        if query:
            url += "?" + query
        request = AWSRequest(method=method.upper(), url=url)
        request.context["timestamp"] = amz_date
        signer = _wire_auth(
            Credentials(principal.access_key, principal.secret_key, principal.token),
            service,
            region,
            signed,
            payload_hash,
        )
        try:
            canonical = signer.canonical_request(request)
            string_to_sign = signer.string_to_sign(request, canonical)
        except UnicodeError:
            # A header that is not valid UTF-8 cannot have been signed.
            raise _invalid("Signed header values must be valid UTF-8.") from None
        signature = signer.signature(string_to_sign, request)
        return _Computed(canonical, string_to_sign, signature)

    def _compare(
        self,
        computed: _Computed,
        provided: str,
        principal: Principal,
        grouped: dict[str, list[str]],
    ) -> None:
        if hmac.compare_digest(
            computed.signature.encode(), provided.encode("utf-8", "replace")
        ):
            return
        canonical = _redact_tokens(computed.canonical_request, principal, grouped)
        raise _invalid(
            _MISMATCH.format(
                canonical=canonical, string_to_sign=computed.string_to_sign
            ),
            "mismatch",
            AWSAccessKeyId=principal.access_key,
        ).with_echo(canonical, computed.string_to_sign)


_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def _has_query_auth(query: str) -> bool:
    return any(
        part.partition("=")[0] in ("X-Amz-Signature", "X-Amz-Algorithm")
        for part in query.split("&")
    )


def _query_params(query: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            params.setdefault(unquote(name), []).append(unquote(value))
    return params


def _presign_malformed(message: str) -> SignatureRejected:
    return SignatureRejected(
        400, "AuthorizationQueryParametersError", message, reason="presign_malformed"
    )


def _signed_values(
    names: list[str], grouped: dict[str, list[str]]
) -> list[tuple[str, str]]:
    signed: list[tuple[str, str]] = []
    for name in names:
        if name not in grouped:
            raise _incomplete(
                f"'{name}' is named as a SignedHeader, but it does not "
                "exist in the HTTP request."
            )
        signed.extend((name, value) for value in grouped[name])
    return signed


def _bad_date(value: str) -> SignatureRejected:
    return _incomplete(
        "Date must be in ISO-8601 'basic format'. Got "
        f"'{value[:32]}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_amz_date(raw: str) -> str:
    value = raw.strip()
    if not _AMZ_DATE_RE.fullmatch(value):
        raise _bad_date(raw)
    try:
        datetime.strptime(value, AMZ_DATE_FORMAT)
    except ValueError:
        raise _bad_date(value) from None
    return value


def _as_datetime(amz_date: str) -> datetime:
    return datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=timezone.utc)


def _redact_tokens(
    text: str, principal: Principal, grouped: dict[str, list[str]]
) -> str:
    text = redact(text)
    for token in [principal.token, *grouped.get("x-amz-security-token", [])]:
        if token and token.strip():
            text = text.replace(token.strip(), "<redacted>")
            text = text.replace(quote(token.strip(), safe="-_.~"), "<redacted>")
    return text


def _check_content_sha256(grouped: dict[str, list[str]], body: bytes) -> None:
    """Reject a present ``x-amz-content-sha256`` that is not the body's hash.

    Whether AppSync validates this header at all is unknown (protocol doc,
    open question 5). The emulator is strict, answering like S3 does: 400
    ``XAmzContentSHA256Mismatch``. ``UNSIGNED-PAYLOAD`` is rejected unless
    the verifier allows it.
    """
    values = grouped.get("x-amz-content-sha256")
    if values is None:
        return
    actual = hashlib.sha256(body).hexdigest()
    if len(values) != 1 or values[0].strip() != actual:
        raise content_sha256_mismatch(values[0].strip()[:64], actual)


def content_sha256_mismatch(declared: str, actual: str) -> SignatureRejected:
    """The rejection of a body whose SHA-256 is not the declared one."""
    return SignatureRejected(
        400,
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
        reason="content_sha256",
        details={
            "ClientComputedContentSHA256": declared,
            "S3ComputedContentSHA256": actual,
        },
    )


def _fmt(moment: datetime) -> str:
    return moment.strftime(AMZ_DATE_FORMAT)
