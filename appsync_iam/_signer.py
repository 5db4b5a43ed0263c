"""Pure AWS Signature Version 4 (hashlib/hmac only: no I/O, no awaits).

The algorithm is botocore's ``SigV4Auth`` for non-S3 services (protocol doc
§4.1), which AppSync verifies; the module-level helpers are its steps, and
:class:`SigV4Signer` is the fast path that precomputes everything that does
not change between two requests:

- the canonical request minus its per-request values, per (method, url,
  headers, token present, content-sha256 wanted): a ``%s`` template;
- the URL's host, canonical path and canonical query, per url string;
- the amz-date, credential scope and string-to-sign prefix, per second;
- the signing key, and the HMAC inner/outer SHA-256 states derived from it,
  per (secret, date, region, service).

Every cache is bounded. Nothing here logs; no repr or message holds a secret.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from hashlib import sha256
from typing import TYPE_CHECKING, Final, final
from urllib.parse import quote, unquote_to_bytes, urlsplit, urlunsplit

from ._credentials import FrozenCredentials
from ._errors import ConfigurationError, CredentialsError

if TYPE_CHECKING:
    from hashlib import _Hash

__all__ = ["SigV4Signer"]

ALGORITHM: Final = "AWS4-HMAC-SHA256"
EMPTY_SHA256: Final = sha256(b"").hexdigest()
#: The payload hash of a body that is not signed (S3, streamed uploads).
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"

# Services whose canonical path is the path as sent (no dot-segment removal,
# no second encoding) and that require x-amz-content-sha256 on every request:
# botocore's S3SigV4Auth, used by its s3, s3-object-lambda, s3-outposts and
# s3express signers.
S3_SERVICES: Final = frozenset({"s3", "s3-object-lambda", "s3-outposts", "s3express"})
# OpenSearch Serverless also requires x-amz-content-sha256 (AWS docs: "Signing
# requests to OpenSearch Serverless"); its path rules are the generic ones.
CONTENT_SHA256_SERVICES: Final = S3_SERVICES | {"aoss"}
# Query-string auth: X-Amz-Expires is 1 s to 7 days (AWS docs, presigned URLs).
MAX_EXPIRES: Final = 7 * 24 * 3600
# A path as sent: percent-escapes and sub-delims kept, anything a client
# would escape on the wire (space, non-ASCII) escaped once.
_PATH_AS_SENT_SAFE: Final = "/~%!$&'()*+,;=:@"

# Hop-by-hop and tracing headers that proxies add, drop or rewrite: botocore's
# SIGNED_HEADERS_BLACKLIST (1.44 adds the OpenTelemetry baggage/traceparent/
# tracestate to the older list). Sent as given, never signed.
UNSIGNED_HEADERS: Final = frozenset(
    {
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)

# Headers the signer owns: a caller's copy (a retry passing back last
# attempt's headers) is dropped and replaced, as botocore's
# _modify_request_before_signing does.
_OWNED_HEADERS: Final = frozenset(
    {"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"}
)
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_PLAN_CACHE_SIZE: Final = 256
_URL_CACHE_SIZE: Final = 256
_KEY_CACHE_SIZE: Final = 16


# --- the algorithm, step by step (protocol doc §4.1) -------------------------


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, plus the empty-segment collapse AWS services require.

    Same result as botocore's ``remove_dot_segments`` (the suite's
    ``normalize`` cases: ``//example//`` → ``/example/``).
    """
    if not path:
        return ""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and segments else ""
    return first + "/".join(segments) + last


def canonical_uri(path: str, *, normalize: bool = True) -> str:
    """The canonical path: normalized, then percent-encoded again.

    Non-S3 services encode the (already encoded) path once more: botocore's
    ``quote(normalize_url_path(path), safe='/~')``. An empty path is ``/``.
    With ``normalize=False`` (S3) the path is used as sent (botocore's
    S3SigV4Auth): only characters a client escapes on the wire (space,
    non-ASCII) are escaped, once; existing ``%XX`` escapes are kept.
    """
    if not normalize:
        return quote(path, safe=_PATH_AS_SENT_SAFE) or "/"
    return quote(remove_dot_segments(path) or "/", safe="/~")


def _rfc3986(component: str) -> str:
    # Decode then encode, at byte level, so raw UTF-8 and an already encoded
    # query give the same canonical text (space → %20, never "+").
    return quote(unquote_to_bytes(component), safe="-_.~")


def canonical_query(query: str) -> str:
    """The canonical query: RFC 3986-encoded ``k=v`` pairs sorted by key, then value.

    Pairs are split as botocore does (``a`` → ``a=``); sorting is on the
    encoded (key, value) tuples, so ``Param`` sorts before ``Param-3``.
    """
    if not query:
        return ""
    pairs = []
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        pairs.append((_rfc3986(key), _rfc3986(value)))
    pairs.sort()
    return "&".join(f"{key}={value}" for key, value in pairs)


def _trimall(value: str) -> str:
    # SigV4 Trimall: strip, and turn every whitespace run (folded multi-line
    # values included) into one space, as botocore's " ".join(v.split()).
    return " ".join(value.split())


def canonical_header_items(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Sorted ``(lowercase name, canonical value)`` of the headers to sign.

    Hop-by-hop headers are skipped; repeated names are joined with ``,`` in
    the order given (suite case ``get-header-value-order``).
    """
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        lname = name.lower()
        if lname not in UNSIGNED_HEADERS:
            grouped.setdefault(lname, []).append(_trimall(value))
    return [(name, ",".join(grouped[name])) for name in sorted(grouped)]


def canonical_headers(headers: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """``(canonical header block, signed header list)`` for these header pairs.

    The block ends with a newline, one ``name:value`` line per name.
    """
    items = canonical_header_items(headers)
    block = "".join(f"{name}:{value}\n" for name, value in items)
    return block, ";".join(name for name, _ in items)


def canonical_request(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    payload_hash: str,
    *,
    normalize: bool = True,
) -> str:
    """The SigV4 canonical request.

    ``headers`` are every header to sign as pairs (so a name may repeat),
    ``host`` and ``x-amz-date`` included; ``payload_hash`` is the lowercase
    hex SHA-256 of the body (or ``UNSIGNED-PAYLOAD``).
    """
    parts = urlsplit(url)
    block, signed = canonical_headers(headers)
    path = canonical_uri(parts.path, normalize=normalize)
    lines = (method.upper(), path, canonical_query(parts.query))
    return "\n".join((*lines, block, signed, payload_hash))


def credential_scope(datestamp: str, region: str, service: str) -> str:
    """``<yyyymmdd>/<region>/<service>/aws4_request``."""
    return f"{datestamp}/{region}/{service}/aws4_request"


def string_to_sign(
    canonical_request: str, amz_date: str, region: str, service: str
) -> str:
    """The string to sign: algorithm, amz-date, scope, hash of the request."""
    scope = credential_scope(amz_date[:8], region, service)
    digest = sha256(canonical_request.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


@lru_cache(maxsize=_KEY_CACHE_SIZE)
def signing_key(secret_key: str, datestamp: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over date, region, service, ``aws4_request`` (cached)."""
    key = f"AWS4{secret_key}".encode()
    for part in (datestamp, region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def signature(key: bytes, string_to_sign: str) -> str:
    """Lowercase hex HMAC-SHA256 of the string to sign."""
    return hmac.new(key, string_to_sign.encode(), sha256).hexdigest()


def host_header(url: str) -> str:
    """The ``host`` header for a URL: lowercase, no userinfo, non-default port."""
    parts = urlsplit(url)
    try:
        hostname, port = parts.hostname, parts.port
    except ValueError:
        raise ConfigurationError("the URL has an invalid port") from None
    if not hostname:
        raise ConfigurationError("the URL has no host; pass an absolute URL")
    if ":" in hostname:  # IPv6 literal: urlsplit drops the brackets
        hostname = f"[{hostname}]"
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        return f"{hostname}:{port}"
    return hostname


# --- the fast path -------------------------------------------------------------


@lru_cache(maxsize=_URL_CACHE_SIZE)
def _parse_url(url: str, normalize: bool = True) -> tuple[str, str, str]:
    parts = urlsplit(url)
    path = canonical_uri(parts.path, normalize=normalize)
    return host_header(url), path, canonical_query(parts.query)


@lru_cache(maxsize=_KEY_CACHE_SIZE)
def _hmac_states(
    secret_key: str, datestamp: str, region: str, service: str
) -> tuple[_Hash, _Hash]:
    # HMAC(k, m) = H((k ^ opad) || H((k ^ ipad) || m)) (RFC 2104). With the
    # key fixed for a day, hash the two padded key blocks once and copy the
    # states per signature: half the cost of hmac.new(). sha256's block is 64
    # bytes and kSigning is 32, so the key is only zero-padded.
    block = signing_key(secret_key, datestamp, region, service).ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in block))
    outer = sha256(bytes(b ^ 0x5C for b in block))
    return inner, outer


def _epoch_seconds(now: datetime | float) -> int:
    if isinstance(now, datetime):
        if now.utcoffset() is None:
            raise ValueError("now must be a timezone-aware datetime (or epoch seconds)")
        return int(now.timestamp())
    return int(now)


_PlanKey = tuple[str, str, tuple[tuple[str, str], ...], bool, bool]
# The canonical request is q0 + content_sha + q1 + date + q2 + token + q3 +
# payload_hash; a value the plan does not sign is "" with an empty q before it.
_Pieces = tuple[str, str, str, str]
# (pieces, "SignedHeaders=a;b, Signature=", headers to send before ours)
_Plan = tuple[_Pieces, str, dict[str, str]]
_SLOTS: Final = ("x-amz-content-sha256", "x-amz-date", "x-amz-security-token")
_Head = tuple[
    "_Plan | None", int, "str | None", str, str, "_Hash", "_Hash", "_Hash", bytes, str
]


def _headers_to_send(items: Iterable[tuple[str, str]], host: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in items:
        if name in headers:  # a true repeat (multidict): send what is signed
            value = f"{_trimall(headers[name])},{_trimall(value)}"
        headers[name] = value
    if not any(name.lower() == "host" for name in headers):
        headers["host"] = host
    return headers


def _split_at_slots(head: str, items: list[tuple[str, str]], tail: str) -> _Pieces:
    # Cut the canonical request before each per-request value; joining
    # constant text with values beats %-formatting a ~1 KB template.
    before = dict.fromkeys(_SLOTS, "")
    text = head
    for name, value in items:
        if name in before:
            before[name] = f"{text}{name}:"
            text = "\n"
        else:
            text += f"{name}:{value}\n"
    sha, date, token = (before[name] for name in _SLOTS)
    return sha, date, token, f"{text}{tail}"


def _build_plan(key: _PlanKey, normalize: bool = True) -> _Plan:
    method, url, items, has_token, include_sha = key
    host, uri, query = _parse_url(url, normalize)
    kept = [(n, v) for n, v in items if n.lower() not in _OWNED_HEADERS]
    send = _headers_to_send(kept, host)
    slots = ["x-amz-date"]
    slots += ["x-amz-content-sha256"] if include_sha else []
    slots += ["x-amz-security-token"] if has_token else []
    items_to_sign = canonical_header_items([*send.items(), *((s, "") for s in slots)])
    signed = ";".join(name for name, _ in items_to_sign)
    head = f"{method.upper()}\n{uri}\n{query}\n"
    pieces = _split_at_slots(head, items_to_sign, f"\n{signed}\n")
    return pieces, f"SignedHeaders={signed}, Signature=", send


def _percent_encode(value: str) -> str:
    return quote(value, safe="-_.~")


# Query parameters of query-string auth; a URL presigned again loses the old.
_QUERY_AUTH_PARAMS: Final = frozenset(
    {
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-signedheaders",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-region-set",  # SigV4A's
    }
)


def _without_query_auth(query: str) -> str:
    pairs = query.split("&") if query else []
    kept = (p for p in pairs if p.partition("=")[0].lower() not in _QUERY_AUTH_PARAMS)
    return "&".join(kept)


@final
class SigV4Signer:
    """Signs HTTP requests for one region and service with AWS SigV4.

    Pure and thread-safe: no I/O, no awaits, only bounded caches. One
    instance per endpoint is meant to live as long as the client::

        signer = SigV4Signer("eu-west-1")
        headers = signer.sign("POST", url, {"content-type": "application/json"},
                              body, credentials)

    The service name sets the rules, as botocore's signer classes do: for
    ``s3``, ``s3-object-lambda``, ``s3-outposts`` and ``s3express`` the path
    is signed as sent (no normalization, no second encoding) and
    ``x-amz-content-sha256`` is always sent; for ``aoss`` the content hash
    is always sent. ``normalize_path`` overrides the path rule.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_always_sha",
        "_clock",
        "_head",
        "_normalize",
        "_plans",
        "region",
        "service",
    )

    def __init__(
        self,
        region: str,
        service: str = "appsync",
        *,
        normalize_path: bool | None = None,
    ) -> None:
        if not region or not service:
            raise ConfigurationError("SigV4Signer needs a region and a service name")
        self.region = region
        self.service = service
        self._normalize = (
            service not in S3_SERVICES if normalize_path is None else normalize_path
        )
        self._always_sha = service in CONTENT_SHA256_SERVICES
        # (epoch second, amz-date, datestamp, scope, string-to-sign prefix)
        self._clock: tuple[int, str, str, str, str] = (-1, "", "", "", "")
        self._plans: dict[_PlanKey, _Plan] = {}
        # For plans without x-amz-content-sha256: (plan, epoch second,
        # token, access key, secret key; the SHA-256 state of the canonical
        # request up to its payload hash, the HMAC inner and outer states,
        # the string-to-sign prefix, the Authorization value but signature).
        self._head: _Head = (
            None, -1, None, "", "", sha256(), sha256(), sha256(), b"", ""
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"SigV4Signer(region={self.region!r}, service={self.service!r})"

    @property
    def requires_content_sha256(self) -> bool:
        """True when the service needs ``x-amz-content-sha256`` (S3, aoss)."""
        return self._always_sha

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
        """Return the headers to send: ``headers`` plus the signature headers.

        Adds ``host`` (unless given), ``x-amz-date``, ``x-amz-content-sha256``
        (the body's SHA-256; with ``include_content_sha256``, always for S3
        and aoss), ``X-Amz-Security-Token`` (temporary credentials) and
        ``Authorization``, all signed along with every given header except
        hop-by-hop ones. ``headers`` is not modified; a given
        ``Authorization``, ``X-Amz-*`` date, token or content hash is
        replaced. ``now`` is an aware datetime or epoch seconds (default: the
        current time). ``body`` must be the exact bytes sent (protocol doc
        §1.2); ``payload_hash``, when given, is used instead of hashing
        ``body``: the lowercase hex SHA-256 of a body hashed elsewhere (a
        streamed file), or ``"UNSIGNED-PAYLOAD"``. ``url`` is the URL as
        sent (percent-encoded).
        """
        token = credentials.token
        include_sha = include_content_sha256 or self._always_sha
        key = (method, url, tuple(headers.items()), bool(token), include_sha)
        plan = self._plans.get(key) or self._plan(key)
        payload = sha256(body).hexdigest() if payload_hash is None else payload_hash
        amz_date, authorization = self.sign_plan(
            plan, payload, credentials, now=now, include_content_sha256=include_sha
        )
        signed = plan[2].copy()
        signed["x-amz-date"] = amz_date
        if include_sha:
            signed["x-amz-content-sha256"] = payload
        if token:
            signed["X-Amz-Security-Token"] = token
        signed["Authorization"] = authorization
        return signed

    def plan(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        *,
        has_token: bool,
        include_content_sha256: bool,
    ) -> _Plan:
        """The cached canonical-request plan :meth:`sign_plan` signs from
        (an opaque value: pass it back unchanged).

        For adapters that key their own cache on their client's request
        object (cheaper than the url string and header pairs :meth:`sign`
        takes); the plan holds no secret and no per-request value.
        """
        include_sha = include_content_sha256 or self._always_sha
        key = (method, url, tuple(headers.items()), has_token, include_sha)
        return self._plans.get(key) or self._plan(key)

    def sign_plan(
        self,
        plan: _Plan,
        payload_hash: str,
        credentials: FrozenCredentials,
        *,
        now: datetime | float | None = None,
        include_content_sha256: bool = False,
    ) -> tuple[str, str]:
        """``(x-amz-date, Authorization)`` for one request of ``plan``.

        The per-request half of :meth:`sign` (which calls it): ``plan`` from
        :meth:`plan` with the same ``include_content_sha256`` and a token
        present exactly when ``credentials`` has one. The caller sends
        ``x-amz-content-sha256`` (when included) and the session token.
        """
        # Flat on purpose: each extra call costs ~0.1 µs of ~3.
        access_key, secret_key = credentials.access_key, credentials.secret_key
        if not access_key or not secret_key:
            raise CredentialsError("credentials lack an access key id or secret key")
        second = int(time.time()) if now is None else _epoch_seconds(now)
        clock = self._clock if self._clock[0] == second else self._tick(second)
        _, amz_date, datestamp, scope, sts_prefix = clock
        token = credentials.token
        if include_content_sha256 or self._always_sha:
            (q0, q1, q2, q3), signed_headers, _ = plan
            canonical = (
                f"{q0}{payload_hash}{q1}{amz_date}{q2}{token or ''}{q3}{payload_hash}"
            )
            inner, outer = _hmac_states(
                secret_key, datestamp, self.region, self.service
            )
            inner = inner.copy()
            inner.update(
                f"{sts_prefix}{sha256(canonical.encode()).hexdigest()}".encode()
            )
            outer = outer.copy()
            outer.update(inner.digest())
            return amz_date, (
                f"{ALGORITHM} Credential={access_key}/{scope}, "
                f"{signed_headers}{outer.hexdigest()}"
            )
        # All but the payload hash (the last 64 characters) is fixed per
        # plan, second and credentials: hash that ~1.5 KB once per second
        # and copy the state (a token of 1,100 characters is most of it);
        # the HMAC states and the Authorization prefix are kept with it.
        head = self._head
        if (
            head[0] is not plan
            or head[1] != second
            or head[2] != token
            or head[3] != access_key
            or head[4] != secret_key
        ):
            head = self._hash_head(plan, clock, credentials)
        state = head[5].copy()
        state.update(payload_hash.encode())
        inner = head[6].copy()
        inner.update(head[8] + state.hexdigest().encode())
        outer = head[7].copy()
        outer.update(inner.digest())
        return amz_date, head[9] + outer.hexdigest()

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
        """Return ``url`` with query-string authentication (a presigned URL).

        As botocore's ``SigV4QueryAuth`` (``S3SigV4QueryAuth`` for S3): the
        ``X-Amz-Algorithm``, ``-Credential``, ``-Date``, ``-Expires``,
        ``-SignedHeaders`` and (temporary credentials) ``-Security-Token``
        parameters are appended to the query, then ``X-Amz-Signature``.
        ``host`` and the given ``headers`` are signed: the request must send
        them. The payload is ``UNSIGNED-PAYLOAD`` for S3, else the hash of an
        empty body (or ``payload_hash``). ``expires`` is in seconds, 1 to
        604800 (7 days). The result holds the signature (and the session
        token): treat it as a secret.
        """
        if not 1 <= expires <= MAX_EXPIRES:
            raise ConfigurationError(
                f"expires must be 1 to {MAX_EXPIRES} seconds, got {expires}"
            )
        access_key, secret_key = credentials.access_key, credentials.secret_key
        if not access_key or not secret_key:
            raise CredentialsError("credentials lack an access key id or secret key")
        second = int(time.time()) if now is None else _epoch_seconds(now)
        _, amz_date, datestamp, scope, sts_prefix = self._tick(second)
        parts = urlsplit(url)
        given = [
            (n, v) for n, v in (headers or {}).items() if n.lower() != "authorization"
        ]
        if not any(n.lower() == "host" for n, _ in given):
            given.append(("host", host_header(url)))
        items = canonical_header_items(given)
        signed_headers = ";".join(name for name, _ in items)
        auth = [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", f"{access_key}/{scope}"),
            ("X-Amz-Date", amz_date),
            ("X-Amz-Expires", str(expires)),
            ("X-Amz-SignedHeaders", signed_headers),
        ]
        if credentials.token:
            auth.append(("X-Amz-Security-Token", credentials.token))
        auth_query = "&".join(f"{k}={_percent_encode(v)}" for k, v in auth)
        query = _without_query_auth(parts.query)
        query = f"{query}&{auth_query}" if query else auth_query
        if payload_hash is None:
            payload_hash = UNSIGNED_PAYLOAD if not self._normalize else EMPTY_SHA256
        block = "".join(f"{name}:{value}\n" for name, value in items)
        canonical = "\n".join(
            (
                method.upper(),
                canonical_uri(parts.path, normalize=self._normalize),
                canonical_query(query),
                block,
                signed_headers,
                payload_hash,
            )
        )
        request_hash = sha256(canonical.encode()).hexdigest()
        key = signing_key(secret_key, datestamp, self.region, self.service)
        sig = signature(key, f"{sts_prefix}{request_hash}")
        query = f"{query}&X-Amz-Signature={sig}"
        return urlunsplit(
            (parts.scheme, parts.netloc, parts.path, query, parts.fragment)
        )

    def _hash_head(
        self,
        plan: _Plan,
        clock: tuple[int, str, str, str, str],
        credentials: FrozenCredentials,
    ) -> _Head:
        second, amz_date, datestamp, scope, sts_prefix = clock
        (_, q1, q2, q3), signed_headers, _ = plan  # q0 is "": no content hash
        access_key, secret_key = credentials.access_key, credentials.secret_key
        token = credentials.token
        state = sha256(f"{q1}{amz_date}{q2}{token or ''}{q3}".encode())
        inner, outer = _hmac_states(secret_key, datestamp, self.region, self.service)
        head = (
            plan, second, token, access_key, secret_key, state, inner, outer,
            sts_prefix.encode(),
            f"{ALGORITHM} Credential={access_key}/{scope}, {signed_headers}",
        )  # fmt: skip
        self._head = head  # one atomic store; the states are only ever copied
        return head

    def _tick(self, second: int) -> tuple[int, str, str, str, str]:
        # Format the amz-date from epoch seconds (no datetime on the hot path)
        # once per second; the scope changes at UTC midnight.
        clock = self._clock
        if clock[0] == second:
            return clock
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
        datestamp = amz_date[:8]
        scope = credential_scope(datestamp, self.region, self.service)
        clock = (
            second,
            amz_date,
            datestamp,
            scope,
            f"{ALGORITHM}\n{amz_date}\n{scope}\n",
        )
        self._clock = clock  # one atomic store: threads see old or new, never half
        return clock

    def _plan(self, key: _PlanKey) -> _Plan:
        items = key[2]
        if any(name.lower() in _OWNED_HEADERS for name, _ in items):
            # Don't cache per stale signature: plan once for the kept headers.
            kept = tuple((n, v) for n, v in items if n.lower() not in _OWNED_HEADERS)
            key = (key[0], key[1], kept, key[3], key[4])
            return self._plans.get(key) or self._plan(key)
        plan = _build_plan(key, self._normalize)
        if len(self._plans) >= _PLAN_CACHE_SIZE:
            self._plans.clear()  # atomic; a steady-state client has a few plans
        self._plans[key] = plan
        return plan
