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

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

from .._errors import redact
from ._principal import Principal

__all__ = ["SigV4Verifier", "SignatureRejected"]

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

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(status, error_type, message)
        self.status = status
        self.error_type = error_type
        self.message = message

    def __str__(self) -> str:
        return f"{self.status} {self.error_type}: {self.message}"


def _incomplete(message: str) -> SignatureRejected:
    return SignatureRejected(403, "IncompleteSignatureException", message)


def _invalid(message: str) -> SignatureRejected:
    return SignatureRejected(403, "InvalidSignatureException", message)


def _unrecognized() -> SignatureRejected:
    return SignatureRejected(
        403,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
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


class _WireSigV4Auth(SigV4Auth):
    """botocore's SigV4 over exactly the headers the client listed as signed."""

    def __init__(
        self,
        credentials: Credentials,
        service_name: str,
        region_name: str,
        signed: Iterable[tuple[str, str]],
    ) -> None:
        super().__init__(credentials, service_name, region_name)
        self._signed = list(signed)

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        header_map = HTTPHeaders()
        for name, value in self._signed:
            header_map[name] = value  # email.message semantics: appends
        return header_map


@dataclass(frozen=True, slots=True)
class _Computed:
    canonical_request: str
    string_to_sign: str
    signature: str


class SigV4Verifier:
    """Checks a SigV4-signed request against known principals, like AppSync.

    ``principals`` maps access key ids to :class:`Principal`; it is read on
    every call, so a live dict may change between requests. ``now`` returns
    the verifier's aware UTC time (the emulator's clock, offset included).
    """

    def __init__(
        self,
        principals: Mapping[str, Principal],
        region: str,
        *,
        service: str = "appsync",
        now: Callable[[], datetime],
    ) -> None:
        self._principals = principals
        self.region = region
        self.service = service
        self._now = now

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
        grouped = _group_headers(headers)
        auth = self._authorization(grouped)
        amz_date = self._amz_date(grouped)
        signed = self._signed_headers(auth, grouped)
        principal = self._principals.get(auth.access_key)
        if principal is None:
            raise _unrecognized()
        self._check_scope(auth, amz_date)
        self._check_clock(amz_date)
        self._check_token(principal, auth, grouped)
        _check_content_sha256(grouped, body)
        computed = self._compute(
            principal, amz_date, method=method, path=path, query=query,
            signed=signed, body=body,
        )  # fmt: skip
        if not hmac.compare_digest(
            computed.signature.encode(), auth.signature.encode("utf-8", "replace")
        ):
            raise _invalid(self._mismatch_message(computed, principal, grouped))
        return principal

    # -- the checks, in the order AppSync appears to apply them ------------

    @staticmethod
    def _authorization(grouped: dict[str, list[str]]) -> _Authorization:
        values = grouped.get("authorization", [])
        if not values or not values[0].strip():
            raise SignatureRejected(
                401, "UnauthorizedException", "Valid authorization header not provided."
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
        value = values[0].strip()
        if len(values) > 1 or not _AMZ_DATE_RE.fullmatch(value):
            raise _incomplete(
                "Date must be in ISO-8601 'basic format'. Got "
                f"'{values[0][:32]}'. See http://en.wikipedia.org/wiki/ISO_8601"
            )
        try:
            datetime.strptime(value, AMZ_DATE_FORMAT)
        except ValueError:
            raise _incomplete(
                "Date must be in ISO-8601 'basic format'. Got "
                f"'{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
            ) from None
        return value

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
        signed: list[tuple[str, str]] = []
        for name in names:
            if name not in grouped:
                raise _incomplete(
                    f"'{name}' is named as a SignedHeader, but it does not "
                    "exist in the HTTP request."
                )
            signed.extend((name, value) for value in grouped[name])
        return signed

    def _check_scope(self, auth: _Authorization, amz_date: str) -> None:
        if auth.date != amz_date[:8]:
            raise _invalid(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                f"version of date from HTTP: '{auth.date}' != '{amz_date[:8]}', "
                f"from '{amz_date}'."
            )
        if auth.region != self.region:
            raise _invalid(
                f"Credential should be scoped to a valid region, not "
                f"'{auth.region}'. Expected '{self.region}'."
            )
        if auth.service != self.service:
            raise _invalid(
                f"Credential should be scoped to correct service: '{self.service}'."
            )
        if auth.terminator != "aws4_request":
            raise _invalid(
                "Credential should be scoped with a valid terminator: "
                f"'aws4_request', not '{auth.terminator}'."
            )

    def _check_clock(self, amz_date: str) -> None:
        signed_at = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(
            tzinfo=timezone.utc
        )
        now = self._now().astimezone(timezone.utc).replace(microsecond=0)
        if signed_at < now - MAX_SKEW:
            raise _invalid(
                f"Signature expired: {amz_date} is now earlier than "
                f"{_fmt(now - MAX_SKEW)} ({_fmt(now)} - 5 min.)"
            )
        if signed_at > now + MAX_SKEW:
            raise _invalid(
                f"Signature not yet current: {amz_date} is still later than "
                f"{_fmt(now + MAX_SKEW)} ({_fmt(now)} + 5 min.)"
            )

    def _check_token(
        self,
        principal: Principal,
        auth: _Authorization,
        grouped: dict[str, list[str]],
    ) -> None:
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
            # example lists it in SignedHeaders).
            if "x-amz-security-token" not in (h.lower() for h in auth.signed_headers):
                raise _incomplete(
                    "'x-amz-security-token' must be a 'SignedHeader' when a "
                    "session token is sent."
                )
        if principal.expires_at is not None and self._now() >= principal.expires_at:
            raise SignatureRejected(
                403,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            )

    def _compute(
        self,
        principal: Principal,
        amz_date: str,
        *,
        method: str,
        path: str,
        query: str,
        signed: list[tuple[str, str]],
        body: bytes,
    ) -> _Computed:
        # The URL host is irrelevant: `host` is always among the signed headers.
        url = "https://emulator.invalid" + (path or "/")
        if query:
            url += "?" + query
        request = AWSRequest(method=method.upper(), url=url, data=body)
        for name, value in signed:
            # Only a signed x-amz-content-sha256 reaches botocore, which then
            # uses it as the payload hash (already checked against the body).
            request.headers[name] = value
        request.context["timestamp"] = amz_date
        signer = _WireSigV4Auth(
            Credentials(principal.access_key, principal.secret_key, principal.token),
            self.service,
            self.region,
            signed,
        )
        try:
            canonical = signer.canonical_request(request)
            string_to_sign = signer.string_to_sign(request, canonical)
        except UnicodeError:
            # A header that is not valid UTF-8 cannot have been signed.
            raise _invalid("Signed header values must be valid UTF-8.") from None
        signature = signer.signature(string_to_sign, request)
        return _Computed(canonical, string_to_sign, signature)

    @staticmethod
    def _mismatch_message(
        computed: _Computed, principal: Principal, grouped: dict[str, list[str]]
    ) -> str:
        canonical = redact(computed.canonical_request)
        for token in [principal.token, *grouped.get("x-amz-security-token", [])]:
            if token and token.strip():
                canonical = canonical.replace(token.strip(), "<redacted>")
        return _MISMATCH.format(
            canonical=canonical, string_to_sign=computed.string_to_sign
        )


def _check_content_sha256(grouped: dict[str, list[str]], body: bytes) -> None:
    """Reject a present ``x-amz-content-sha256`` that is not the body's hash.

    Whether AppSync validates this header at all is unknown (protocol doc,
    open question 5). The emulator is strict, answering like S3 does: 400
    ``XAmzContentSHA256Mismatch``. ``UNSIGNED-PAYLOAD`` is rejected too.
    """
    values = grouped.get("x-amz-content-sha256")
    if values is None:
        return
    actual = hashlib.sha256(body).hexdigest()
    if len(values) != 1 or values[0].strip() != actual:
        raise SignatureRejected(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what "
            "was computed.",
        )


def _fmt(moment: datetime) -> str:
    return moment.strftime(AMZ_DATE_FORMAT)
