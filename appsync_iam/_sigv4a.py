"""SigV4A (``AWS4-ECDSA-P256-SHA256``): multi-region signatures, no AWS CRT.

The algorithm as the AWS Common Runtime implements it (awslabs/aws-c-auth
``source/key_derivation.c`` and ``source/aws_signing.c``; aws-sdk-go-v2
``internal/v4a``), checked against aws-c-auth's SigV4A test suite:

- the signing key is an ECDSA P-256 private key derived from the secret
  access key once (cached per access key and secret): NIST SP 800-108
  counter-mode KDF, HMAC-SHA256 keyed with ``"AWS4A" + secret`` over
  ``be32(1) || "AWS4-ECDSA-P256-SHA256" || 0x00 || access key || counter ||
  be32(256)``; the first output ``k0 <= n - 2`` (counter 1, 2, ... 254)
  gives ``d = k0 + 1``;
- the canonical request is SigV4's (the helpers of :mod:`._signer`), with
  ``x-amz-region-set`` signed: a comma-separated region list or ``*``;
- the credential scope has no region: ``<yyyymmdd>/<service>/aws4_request``;
- the signature is the hex of a DER ECDSA-SHA256 signature of the string to
  sign (randomized: two signatures of one request differ, both verify).

ECDSA comes from the optional ``cryptography`` package
(``pip install 'appsync_iam[sigv4a]'``), imported on first use only.
Nothing here logs; no repr or message holds a secret.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Final, final
from urllib.parse import quote

from ._credentials import FrozenCredentials
from ._errors import ConfigurationError, CredentialsError
from ._signer import (
    _OWNED_HEADERS,
    _PLAN_CACHE_SIZE,
    CONTENT_SHA256_SERVICES,
    S3_SERVICES,
    _build_plan,
    _epoch_seconds,
    _headers_to_send,
    _parse_url,
    _Plan,
    _PlanKey,
    _without_query_auth,
    canonical_headers,
    canonical_query,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

__all__ = ["ALGORITHM", "SigV4ASigner", "derive_private_key", "require_cryptography"]

ALGORITHM: Final = "AWS4-ECDSA-P256-SHA256"
EMPTY_SHA256: Final = sha256(b"").hexdigest()
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
#: The order of the P-256 group (FIPS 186-4 D.1.2.3).
P256_N: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_MAX_COUNTER: Final = 254  # aws-c-auth MAX_KEY_DERIVATION_COUNTER_VALUE
_MAX_EXPIRES: Final = 7 * 24 * 3600  # presigned URLs: at most 7 days
_KEY_CACHE_SIZE: Final = 16
_SIGV4A_OWNED: Final = _OWNED_HEADERS | {"x-amz-region-set"}
_EXTRA_HINT: Final = (
    "SigV4A needs the 'cryptography' package: pip install 'appsync_iam[sigv4a]'"
)


def derive_private_scalar(access_key: str, secret_key: str) -> int:
    """The SigV4A private key ``d`` (an int in ``[1, n-1]``) for a key pair.

    Deterministic: the same access key and secret always give the same key,
    so the service derives the public key from the secret it holds.
    """
    hmac_key = f"AWS4A{secret_key}".encode()
    prefix = b"\x00\x00\x00\x01" + ALGORITHM.encode() + b"\x00" + access_key.encode()
    for counter in range(1, _MAX_COUNTER + 1):
        fixed_input = prefix + bytes((counter,)) + b"\x00\x00\x01\x00"
        k0 = int.from_bytes(hmac.digest(hmac_key, fixed_input, "sha256"), "big")
        if k0 <= P256_N - 2:
            return k0 + 1
    # Probability about 2**-8000: the CRT gives up here too.
    raise CredentialsError("no SigV4A key can be derived from these credentials")


def _ec() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:
        raise ConfigurationError(_EXTRA_HINT) from None
    return ec


def require_cryptography() -> None:
    """Import ``cryptography`` now, else a :class:`ConfigurationError` naming
    the extra: for callers that want the error when configured (the HTTP
    adapters), not on their first signature."""
    _ec()


@lru_cache(maxsize=1)
def _ecdsa_sha256() -> Any:
    from cryptography.hazmat.primitives.hashes import SHA256

    return _ec().ECDSA(SHA256())


@lru_cache(maxsize=_KEY_CACHE_SIZE)
def derive_private_key(access_key: str, secret_key: str) -> EllipticCurvePrivateKey:
    """The ``cryptography`` P-256 private key for a key pair (cached)."""
    ec = _ec()
    key: EllipticCurvePrivateKey = ec.derive_private_key(
        derive_private_scalar(access_key, secret_key), ec.SECP256R1()
    )
    return key


def region_set_value(region_set: str | Iterable[str]) -> str:
    """The ``X-Amz-Region-Set`` value: ``"*"`` or regions joined with ``,``."""
    bad = ConfigurationError(
        "region_set must be '*', a region name or wildcard ('us-east-1', "
        "'us-*'), a comma-separated list of them, or a list of region names, "
        "e.g. ['us-east-1', 'eu-west-1']"
    )
    if isinstance(region_set, str):
        entries: list[object] = [region_set]
    elif isinstance(region_set, Iterable) and not isinstance(
        region_set, (bytes, bytearray, Mapping)
    ):
        entries = list(region_set)
    else:
        raise bad
    if not all(isinstance(entry, str) for entry in entries):
        raise bad
    regions = [part.strip() for entry in entries for part in str(entry).split(",")]
    if not regions or any(
        not region or any(c.isspace() for c in region) for region in regions
    ):
        raise bad
    return ",".join(regions)


def credential_scope(datestamp: str, service: str) -> str:
    """``<yyyymmdd>/<service>/aws4_request``: SigV4A scopes name no region."""
    return f"{datestamp}/{service}/aws4_request"


def string_to_sign(canonical_request: str, amz_date: str, service: str) -> str:
    """Algorithm, amz-date, region-less scope, hex SHA-256 of the request."""
    scope = credential_scope(amz_date[:8], service)
    digest = sha256(canonical_request.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def _canonical(
    method: str,
    url: str,
    pairs: Iterable[tuple[str, str]],
    payload_hash: str,
    query: str | None = None,
    normalize: bool = True,
) -> tuple[str, str]:
    _, uri, url_query = _parse_url(url, normalize)
    block, signed = canonical_headers(pairs)
    q = url_query if query is None else query
    return f"{method.upper()}\n{uri}\n{q}\n{block}\n{signed}\n{payload_hash}", signed


def _enc(value: str) -> str:
    return quote(value, safe="-_.~")


@final
class SigV4ASigner:
    """Signs HTTP requests with SigV4A for a set of regions.

    ``region_set`` is ``"*"`` (any region, the default), one region, a
    wildcard such as ``"us-*"``, or a list of regions. Pure and thread-safe,
    like :class:`SigV4Signer`::

        signer = SigV4ASigner("s3", region_set=["us-east-1", "eu-west-1"])
        headers = signer.sign("GET", url, {}, b"", credentials)

    The service name sets the rules, as for :class:`SigV4Signer` (and
    botocore's CRT signers, ``CrtS3SigV4AsymAuth``): for ``s3``,
    ``s3-object-lambda``, ``s3-outposts`` and ``s3express`` the path is
    signed as sent (no normalization, no second encoding), a presigned URL
    signs ``UNSIGNED-PAYLOAD`` and ``x-amz-content-sha256`` is always sent;
    ``aoss`` always sends it too. ``normalize_path`` overrides the path rule.

    Needs ``cryptography`` (``pip install 'appsync_iam[sigv4a]'``); a
    :class:`ConfigurationError` naming the extra is raised on the first
    signature otherwise. Deriving the key (~1 ms with ``cryptography``) is
    done once per access key and secret; one signature costs about one
    P-256 ECDSA signing.

    .. versionadded:: 0.2.0
    """

    __slots__ = (
        "_always_sha",
        "_clock",
        "_normalize",
        "_plans",
        "region_set",
        "service",
    )

    def __init__(
        self,
        service: str = "appsync",
        region_set: str | Iterable[str] = "*",
        *,
        normalize_path: bool | None = None,
    ) -> None:
        if not service or not isinstance(service, str):
            raise ConfigurationError("SigV4ASigner needs a service name")
        self.service = service
        self.region_set = region_set_value(region_set)
        self._normalize = (
            service not in S3_SERVICES if normalize_path is None else normalize_path
        )
        self._always_sha = service in CONTENT_SHA256_SERVICES
        # (epoch second, amz-date, scope, string-to-sign prefix)
        self._clock: tuple[int, str, str, str] = (-1, "", "", "")
        self._plans: dict[_PlanKey, _Plan] = {}

    def __repr__(self) -> str:
        return f"SigV4ASigner(service={self.service!r}, region_set={self.region_set!r})"

    @property
    def requires_content_sha256(self) -> bool:
        """True when the service needs ``x-amz-content-sha256`` (S3, aoss)."""
        return self._always_sha

    def _tick(self, second: int) -> tuple[int, str, str, str]:
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
        scope = credential_scope(amz_date[:8], self.service)
        clock = (second, amz_date, scope, f"{ALGORITHM}\n{amz_date}\n{scope}\n")
        self._clock = clock  # one atomic store
        return clock

    def _plan(self, key: _PlanKey) -> _Plan:
        # SigV4's plan (canonical request cut at the per-request values),
        # with our X-Amz-Region-Set as one more constant signed header.
        method, url, items, has_token, include_sha = key
        kept = tuple((n, v) for n, v in items if n.lower() not in _SIGV4A_OWNED)
        region = (("x-amz-region-set", self.region_set),)
        plan_key = (method, url, kept + region, has_token, include_sha)
        plan = _build_plan(plan_key, self._normalize)
        if len(self._plans) >= _PLAN_CACHE_SIZE:
            self._plans.clear()  # atomic; a steady-state client has a few plans
        self._plans[key] = plan
        return plan

    def _key(self, credentials: FrozenCredentials) -> EllipticCurvePrivateKey:
        if not credentials.access_key or not credentials.secret_key:
            raise CredentialsError("credentials lack an access key id or secret key")
        return derive_private_key(credentials.access_key, credentials.secret_key)

    @staticmethod
    def _sign_sts(key: EllipticCurvePrivateKey, sts: str) -> str:
        return key.sign(sts.encode(), _ecdsa_sha256()).hex()

    def sign(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        credentials: FrozenCredentials,
        *,
        now: datetime | float | None = None,
        include_content_sha256: bool = True,
        payload_hash: str | None = None,
    ) -> dict[str, str]:
        """Return the headers to send: ``headers`` plus the SigV4A headers.

        As :meth:`SigV4Signer.sign`, plus a signed ``X-Amz-Region-Set``;
        ``x-amz-content-sha256`` is sent always for S3 and aoss.
        ``payload_hash`` (hex SHA-256, or ``"UNSIGNED-PAYLOAD"``) replaces
        hashing ``body``, for bodies hashed while streaming.
        """
        key = self._key(credentials)
        second = int(time.time()) if now is None else _epoch_seconds(now)
        clock = self._clock if self._clock[0] == second else self._tick(second)
        _, amz_date, scope, sts_prefix = clock
        token = credentials.token
        include_sha = include_content_sha256 or self._always_sha
        plan_key = (method, url, tuple(headers.items()), bool(token), include_sha)
        plan = self._plans.get(plan_key) or self._plan(plan_key)
        (q0, q1, q2, q3), signed_headers, to_send = plan
        payload = sha256(body).hexdigest() if payload_hash is None else payload_hash
        sha = payload if include_sha else ""
        canonical = f"{q0}{sha}{q1}{amz_date}{q2}{token or ''}{q3}{payload}"
        request_hash = sha256(canonical.encode()).hexdigest()
        signature = self._sign_sts(key, f"{sts_prefix}{request_hash}")
        signed = to_send.copy()
        signed["x-amz-date"] = amz_date
        if include_sha:
            signed["x-amz-content-sha256"] = payload
        if token:
            signed["X-Amz-Security-Token"] = token
        signed["Authorization"] = (
            f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"{signed_headers}{signature}"
        )
        return signed

    def presign(
        self,
        method: str,
        url: str,
        credentials: FrozenCredentials,
        *,
        expires: int = 900,
        headers: Mapping[str, str] | None = None,
        now: datetime | float | None = None,
        payload_hash: str | None = None,
    ) -> str:
        """A presigned URL (query-string SigV4A), valid ``expires`` seconds.

        ``headers`` (besides ``host``) are signed and must be sent with the
        URL. The query gets ``X-Amz-Algorithm``, ``-Credential``, ``-Date``,
        ``-Expires``, ``-Region-Set``, ``-SignedHeaders``, the session token
        (``X-Amz-Security-Token``, signed) and ``X-Amz-Signature``: the URL
        is a credential while it is valid; never log it.
        ``payload_hash`` is the body's hex SHA-256 or ``"UNSIGNED-PAYLOAD"``;
        by default ``UNSIGNED-PAYLOAD`` for S3 (botocore's
        ``CrtS3SigV4AsymQueryAuth``), else the hash of an empty body.
        """
        if not isinstance(expires, int) or not 1 <= expires <= _MAX_EXPIRES:
            raise ConfigurationError(f"expires must be 1 to {_MAX_EXPIRES} seconds")
        key = self._key(credentials)
        second = int(time.time()) if now is None else _epoch_seconds(now)
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
        host, _, _ = _parse_url(url)
        pairs = _headers_to_send(list((headers or {}).items()), host)
        _, signed_names = canonical_headers(pairs.items())
        scope = credential_scope(amz_date[:8], self.service)
        params = [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-SignedHeaders", signed_names),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-Region-Set", self.region_set),
        ]
        if credentials.token:
            params.append(("X-Amz-Security-Token", credentials.token))
        base, _, fragment = url.partition("#")
        # A URL presigned again loses its old signature parameters.
        path, _, old_query = base.partition("?")
        kept = _without_query_auth(old_query)
        added = "&".join(f"{name}={_enc(value)}" for name, value in params)
        full = f"{path}?{kept}&{added}" if kept else f"{path}?{added}"
        query = canonical_query(full.partition("?")[2])
        if payload_hash is None:
            payload_hash = UNSIGNED_PAYLOAD if not self._normalize else EMPTY_SHA256
        creq, _ = _canonical(
            method, url, pairs.items(), payload_hash, query, self._normalize
        )
        sts = string_to_sign(creq, amz_date, self.service)
        signature = self._sign_sts(key, sts)
        return f"{full}&X-Amz-Signature={signature}" + (
            f"#{fragment}" if fragment else ""
        )
