"""What is safe to retry, how long to wait, and the clock-skew offset.

Everything here is pure: :func:`classify` looks at an error,
:func:`decide` turns (error kind, attempt, policy, elapsed time, clocks) into
a :class:`Decision`. The transport performs the decision (sleep, refresh
credentials, learn a clock offset, re-sign and send again). Architecture
decision 10: retries never duplicate a mutation.

===============================  ==========  ==============================
failure                          queries     mutations
===============================  ==========  ==============================
throttled (429, throttling type) retry       retry (AppSync did not run it)
connect failure (never sent)     retry       retry
5xx, timeout or reset after send retry       raise, unless ``retry_mutations``
expired session token            refresh credentials, retry once
unknown key id / invalid token   refresh credentials, retry once if they changed
signature expired / not current  learn the offset from ``Date``, retry once
other 401/403, other 4xx         raise       raise
GraphQL ``errors`` (HTTP 200)    raise       raise
===============================  ==========  ==============================
"""

from __future__ import annotations

import enum
import random
import re
import ssl
from calendar import timegm
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_tz
from typing import Final

from ._errors import (
    AuthorizationError,
    ConfigurationError,
    HTTPStatusError,
    ThrottlingError,
    TransportError,
)

__all__ = ["RetryPolicy"]

#: AppSync rejects a signature more than 5 minutes away from its clock.
SKEW_LIMIT: Final = 300.0

# errorTypes that may mean clock skew (amplify-js isClockSkewError.ts,
# protocol doc §1.4): skew only when the server's Date is >= 5 min away.
SKEW_ERROR_TYPES: Final = frozenset(
    {
        "AuthFailure",
        "BadRequestException",
        "InvalidSignatureException",
        "RequestExpired",
        "RequestInTheFuture",
        "RequestTimeTooSkewed",
        "SignatureDoesNotMatch",
    }
)
EXPIRED_TOKEN_TYPES: Final = frozenset(
    {"ExpiredTokenException", "ExpiredToken", "TokenRefreshRequired"}
)
# "Signature expired: <sig> is now earlier than <t> (<now> - 5 min.)" and
# "Signature not yet current: <sig> is still later than <t> (<now> + 5 min.)"
_SKEW_MESSAGE = re.compile(r"Signature (?:expired|not yet current)", re.IGNORECASE)
_SERVER_NOW = re.compile(r"\((\d{8}T\d{6}Z) [-+] 5 min\.?\)")
REJECTED_KEY_TYPES: Final = frozenset(
    {"UnrecognizedClientException", "InvalidClientTokenId"}
)
_REJECTED_KEY_MESSAGE = re.compile(
    r"security token included in the request is invalid", re.IGNORECASE
)
_EXPIRED_TOKEN_MESSAGE = re.compile(
    r"security token included in the request is expired", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times, and how long, to retry a request that failed transiently.

    Backoff is "full jitter" (AWS architecture blog): attempt ``n`` waits a
    uniform random time in ``[0, min(max_delay, base_delay * 2**(n-1))]``, or
    longer when the server sent ``Retry-After`` (capped at
    ``max_retry_after``). No retry starts once ``total_timeout`` seconds have
    passed since the first attempt.

    Mutations are retried only when AppSync certainly did not run them
    (throttled, never sent, auth rejected). A 5xx, timeout or reset after the
    request was sent may mean the mutation ran; it is raised with
    ``error.sent = True`` unless ``retry_mutations=True`` (use it only for
    idempotent mutations). Queries retry on every transient failure.

    An expired session token (credentials refreshed) and a clock-skew
    rejection (offset learned) are each retried once per call, whatever
    ``max_attempts`` says: they are corrections, not transient failures.

    Example::

        AppSyncClient(url, retry=RetryPolicy(max_attempts=6, retry_mutations=True))
        AppSyncClient(url, retry=RetryPolicy.disabled())

    .. versionadded:: 0.1.0
    """

    max_attempts: int = 4
    base_delay: float = 0.05
    max_delay: float = 5.0
    total_timeout: float = 60.0
    retry_mutations: bool = False
    max_retry_after: float = 20.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError("RetryPolicy.max_attempts must be at least 1")
        for name in ("base_delay", "max_delay", "total_timeout", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"RetryPolicy.{name} must not be negative")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """One attempt only (skew and expired-token corrections still apply)."""
        return cls(max_attempts=1)

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Full-jitter delay before attempt ``attempt + 1`` (``attempt`` >= 1)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(attempt - 1, 30))
        return rand() * ceiling


class Failure(enum.Enum):
    """What a failed attempt means for retrying it."""

    THROTTLED = "throttled"  # AppSync refused before running the operation
    NOT_SENT = "not-sent"  # connect failure: nothing reached the server
    AMBIGUOUS = "ambiguous"  # sent; the operation may have run
    EXPIRED_TOKEN = "expired-token"  # refresh the credentials, retry once
    # UnrecognizedClientException: the key was revoked (rotation) or the token
    # is not valid. AppSync ran nothing; new credentials may cure it.
    REJECTED_KEY = "rejected-key"
    CLOCK_SKEW = "clock-skew"  # maybe skew: decide() checks the server's Date
    FATAL = "fatal"  # retrying cannot help


class Action(enum.Enum):
    RAISE = "raise"
    RETRY = "retry"
    REFRESH_CREDENTIALS = "refresh-credentials"
    CORRECT_CLOCK = "correct-clock"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do next; ``offset`` is the new clock offset for CORRECT_CLOCK."""

    action: Action
    delay: float = 0.0
    offset: float = 0.0


RAISE: Final = Decision(Action.RAISE)


def classify(error: BaseException) -> Failure:
    """The retry meaning of an error raised by one attempt."""
    if isinstance(error, ThrottlingError):
        return Failure.THROTTLED
    if isinstance(error, HTTPStatusError):
        return _classify_status(error)
    if isinstance(error, TransportError):
        if _is_tls_failure(error):
            return Failure.FATAL  # a bad certificate does not heal
        return Failure.AMBIGUOUS if error.sent else Failure.NOT_SENT
    return Failure.FATAL


def _classify_status(error: HTTPStatusError) -> Failure:
    message = str(error.args[0]) if error.args else ""
    error_type = error.error_type or ""
    if error_type in EXPIRED_TOKEN_TYPES or _EXPIRED_TOKEN_MESSAGE.search(message):
        return Failure.EXPIRED_TOKEN
    if error_type in REJECTED_KEY_TYPES or _REJECTED_KEY_MESSAGE.search(message):
        return Failure.REJECTED_KEY
    if _SKEW_MESSAGE.search(message) or (
        error_type in SKEW_ERROR_TYPES and error.status in (400, 401, 403)
    ):
        return Failure.CLOCK_SKEW
    if isinstance(error, AuthorizationError) or error.status < 500:
        return Failure.FATAL
    return Failure.AMBIGUOUS


def _is_tls_failure(error: BaseException) -> bool:
    cause = error.__cause__
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__
    return False


def server_time_from_message(message: str) -> float | None:
    """The server's clock as AppSync states it in a "Signature expired" message."""
    match = _SERVER_NOW.search(message)
    if match is None:
        return None
    stamp = match.group(1)
    fields = (stamp[0:4], stamp[4:6], stamp[6:8], stamp[9:11], stamp[11:13])
    year, month, day, hour, minute = (int(f) for f in fields)
    return float(timegm((year, month, day, hour, minute, int(stamp[13:15]))))


def parse_http_date(value: str | None) -> float | None:
    """Epoch seconds of an HTTP ``Date`` header (RFC 7231), or None."""
    if not value:
        return None
    parsed = parsedate_tz(value)
    if parsed is None:
        return None
    offset = parsed[9] or 0
    return float(timegm(parsed[:6]) - offset)


def parse_retry_after(value: str | None, server_time: float | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        when = parse_http_date(value)
        if when is None or server_time is None:
            return None
        seconds = when - server_time
    if seconds != seconds:  # NaN
        return None
    return max(0.0, float(seconds))


@dataclass(frozen=True, slots=True)
class Attempt:
    """What the transport knows after a failed attempt.

    ``attempt`` counts ordinary attempts made so far (1 after the first);
    ``local_time`` is the raw local clock (without any learned offset);
    ``server_time`` comes from the response's ``Date`` header.
    """

    failure: Failure
    attempt: int
    elapsed: float
    is_mutation: bool
    local_time: float
    server_time: float | None = None
    message: str = ""
    retry_after: float | None = None
    refreshed: bool = False
    skew_corrected: bool = False


def decide(
    state: Attempt, policy: RetryPolicy, rand: Callable[[], float] = random.random
) -> Decision:
    """The retry decision table of the module docstring, as a pure function."""
    failure = state.failure
    if failure is Failure.FATAL:
        return RAISE
    if failure in (Failure.EXPIRED_TOKEN, Failure.REJECTED_KEY):
        return RAISE if state.refreshed else Decision(Action.REFRESH_CREDENTIALS)
    if failure is Failure.CLOCK_SKEW:
        return _decide_skew(state)
    if failure is Failure.AMBIGUOUS and state.is_mutation:
        if not policy.retry_mutations:
            return RAISE
    return _decide_backoff(state, policy, rand)


def _decide_backoff(
    state: Attempt, policy: RetryPolicy, rand: Callable[[], float]
) -> Decision:
    if state.attempt >= policy.max_attempts:
        return RAISE
    delay = policy.backoff(state.attempt, rand)
    if state.retry_after is not None:
        delay = max(delay, min(state.retry_after, policy.max_retry_after))
    if state.elapsed + delay > policy.total_timeout:
        return RAISE
    return Decision(Action.RETRY, delay=delay)


def _decide_skew(state: Attempt) -> Decision:
    if state.skew_corrected:
        return RAISE
    explicit = _SKEW_MESSAGE.search(state.message) is not None
    server_time = state.server_time
    if server_time is None:
        server_time = server_time_from_message(state.message)
    if server_time is None:
        return RAISE
    offset = server_time - state.local_time
    if not explicit and abs(offset) < SKEW_LIMIT:
        return RAISE  # a genuine signature error, not skew
    return Decision(Action.CORRECT_CLOCK, offset=offset)
