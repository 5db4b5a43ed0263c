"""The retry decision table, tested without a network (architecture decision 10)."""

from __future__ import annotations

import ssl

import pytest

from appsync_iam import (
    AuthorizationError,
    ConfigurationError,
    GraphQLResponseError,
    HTTPStatusError,
    ProtocolError,
    RequestTimeout,
    RetryPolicy,
    ThrottlingError,
    TransportError,
)
from appsync_iam._retry import (
    Action,
    Attempt,
    Failure,
    classify,
    decide,
    parse_http_date,
    parse_retry_after,
    server_time_from_message,
)

NOW = 1_700_000_000.0
POLICY = RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=1.0, total_timeout=10)


def attempt(failure: Failure, **kw: object) -> Attempt:
    values: dict[str, object] = {
        "failure": failure,
        "attempt": 1,
        "elapsed": 0.0,
        "is_mutation": False,
        "local_time": NOW,
    }
    values.update(kw)
    return Attempt(**values)  # type: ignore[arg-type]


def status(cls: type[HTTPStatusError], code: int, kind: str | None, msg: str = "x"):
    return cls(msg, status=code, error_type=kind)


class TestRetryPolicy:
    def test_defaults_never_retry_ambiguous_mutations(self) -> None:
        """The default policy retries 4 times in all and never mutations after send."""
        policy = RetryPolicy()
        assert policy.max_attempts == 4
        assert policy.retry_mutations is False

    @pytest.mark.parametrize(
        "kwargs",
        [{"max_attempts": 0}, {"base_delay": -1}, {"total_timeout": -0.1}],
    )
    def test_rejects_nonsense(self, kwargs: dict[str, float]) -> None:
        """Zero attempts or negative times are a ConfigurationError."""
        with pytest.raises(ConfigurationError):
            RetryPolicy(**kwargs)  # type: ignore[arg-type]

    def test_full_jitter_bounds(self) -> None:
        """Attempt n waits between 0 and min(max_delay, base * 2**(n-1))."""
        assert POLICY.backoff(1, lambda: 0.0) == 0.0
        assert POLICY.backoff(1, lambda: 1.0) == pytest.approx(0.1)
        assert POLICY.backoff(3, lambda: 1.0) == pytest.approx(0.4)
        assert POLICY.backoff(30, lambda: 1.0) == pytest.approx(1.0)
        assert POLICY.backoff(10_000, lambda: 1.0) == pytest.approx(1.0)

    def test_backoff_is_random(self) -> None:
        """Two delays for the same attempt differ (jitter spreads retry storms)."""
        delays = {POLICY.backoff(3) for _ in range(20)}
        assert len(delays) > 1
        assert all(0 <= d <= 0.4 for d in delays)

    def test_disabled_means_one_attempt(self) -> None:
        """RetryPolicy.disabled() makes a single attempt."""
        assert RetryPolicy.disabled().max_attempts == 1


class TestClassify:
    @pytest.mark.parametrize(
        ("error", "expected"),
        [
            (status(ThrottlingError, 429, "TooManyRequestsException"), "THROTTLED"),
            (status(HTTPStatusError, 500, "InternalFailure"), "AMBIGUOUS"),
            (status(HTTPStatusError, 503, None), "AMBIGUOUS"),
            (status(HTTPStatusError, 400, "MalformedHttpRequestException"), "FATAL"),
            (status(AuthorizationError, 401, "UnauthorizedException"), "FATAL"),
            (
                status(AuthorizationError, 403, "UnrecognizedClientException"),
                "REJECTED_KEY",
            ),
            (
                status(
                    AuthorizationError,
                    403,
                    "UnauthorizedException",
                    "The security token included in the request is invalid.",
                ),
                "REJECTED_KEY",
            ),
            (
                status(AuthorizationError, 403, "ExpiredTokenException"),
                "EXPIRED_TOKEN",
            ),
            (
                status(
                    AuthorizationError,
                    403,
                    "UnauthorizedException",
                    "The security token included in the request is expired",
                ),
                "EXPIRED_TOKEN",
            ),
            (
                status(
                    AuthorizationError,
                    403,
                    "InvalidSignatureException",
                    "Signature expired: 20240101T000000Z is now earlier than "
                    "20240101T001500Z (20240101T002000Z - 5 min.)",
                ),
                "CLOCK_SKEW",
            ),
            (
                status(AuthorizationError, 400, "BadRequestException"),
                "CLOCK_SKEW",
            ),
            (TransportError("refused", sent=False), "NOT_SENT"),
            (TransportError("reset", sent=True), "AMBIGUOUS"),
            (RequestTimeout("slow", sent=True), "AMBIGUOUS"),
            (ProtocolError("<html>", sent=True), "AMBIGUOUS"),
            (GraphQLResponseError("bad", errors=[{"message": "x"}]), "FATAL"),
            (ValueError("a bug"), "FATAL"),
        ],
    )
    def test_classification(self, error: BaseException, expected: str) -> None:
        """Each error maps to what it means for a retry."""
        assert classify(error) is Failure[expected]

    def test_certificate_failure_is_fatal(self) -> None:
        """A TLS verification failure never heals, so it is not retried."""
        error = TransportError("cannot connect", sent=False)
        error.__cause__ = ssl.SSLCertVerificationError("self-signed")
        assert classify(error) is Failure.FATAL


class TestDecisionTable:
    @pytest.mark.parametrize(
        ("failure", "is_mutation", "retry_mutations", "action"),
        [
            ("THROTTLED", False, False, Action.RETRY),
            ("THROTTLED", True, False, Action.RETRY),
            ("NOT_SENT", False, False, Action.RETRY),
            ("NOT_SENT", True, False, Action.RETRY),
            ("AMBIGUOUS", False, False, Action.RETRY),
            ("AMBIGUOUS", True, False, Action.RAISE),
            ("AMBIGUOUS", True, True, Action.RETRY),
            ("FATAL", False, True, Action.RAISE),
            ("FATAL", True, True, Action.RAISE),
            ("EXPIRED_TOKEN", True, False, Action.REFRESH_CREDENTIALS),
            ("EXPIRED_TOKEN", False, False, Action.REFRESH_CREDENTIALS),
            ("REJECTED_KEY", True, False, Action.REFRESH_CREDENTIALS),
            ("REJECTED_KEY", False, False, Action.REFRESH_CREDENTIALS),
        ],
    )
    def test_table(
        self, failure: str, is_mutation: bool, retry_mutations: bool, action: Action
    ) -> None:
        """Throttled and unsent requests retry; sent mutations only when opted in."""
        policy = RetryPolicy(retry_mutations=retry_mutations)
        state = attempt(Failure[failure], is_mutation=is_mutation)
        assert decide(state, policy, lambda: 0.5).action is action

    def test_attempts_are_capped(self) -> None:
        """After max_attempts attempts the error is raised."""
        assert decide(attempt(Failure.THROTTLED, attempt=3), POLICY).action is (
            Action.RETRY
        )
        assert decide(attempt(Failure.THROTTLED, attempt=4), POLICY).action is (
            Action.RAISE
        )

    def test_total_time_budget(self) -> None:
        """No retry starts once the total time budget would be exceeded."""
        state = attempt(Failure.NOT_SENT, elapsed=9.99)
        assert decide(state, POLICY, lambda: 1.0).action is Action.RAISE
        assert decide(state, POLICY, lambda: 0.0).action is Action.RETRY

    def test_retry_after_is_honoured_and_capped(self) -> None:
        """Retry-After lengthens the wait, up to max_retry_after."""
        policy = RetryPolicy(max_retry_after=2.0, total_timeout=60)
        short = decide(attempt(Failure.THROTTLED, retry_after=1.5), policy, lambda: 0)
        assert short.delay == pytest.approx(1.5)
        long = decide(attempt(Failure.THROTTLED, retry_after=600), policy, lambda: 0)
        assert long.delay == pytest.approx(2.0)

    @pytest.mark.parametrize("failure", ["EXPIRED_TOKEN", "REJECTED_KEY"])
    def test_refresh_only_once(self, failure: str) -> None:
        """A second credentials rejection after a refresh is raised."""
        state = attempt(Failure[failure], refreshed=True)
        assert decide(state, POLICY).action is Action.RAISE

    def test_corrections_ignore_max_attempts(self) -> None:
        """Refresh and skew corrections happen even with retries disabled."""
        policy = RetryPolicy.disabled()
        state = attempt(Failure.EXPIRED_TOKEN)
        assert decide(state, policy).action is Action.REFRESH_CREDENTIALS
        skew = attempt(Failure.CLOCK_SKEW, server_time=NOW + 1200, message="x")
        assert decide(skew, policy).action is Action.CORRECT_CLOCK


class TestClockSkew:
    def test_offset_from_date_header(self) -> None:
        """The offset is the server's Date minus the local clock."""
        state = attempt(
            Failure.CLOCK_SKEW,
            server_time=NOW - 1200,
            message="Signature not yet current: ...",
        )
        decision = decide(state, POLICY)
        assert decision.action is Action.CORRECT_CLOCK
        assert decision.offset == pytest.approx(-1200)

    def test_offset_from_message_without_date(self) -> None:
        """Without a Date header, the server time in AppSync's message is used."""
        message = (
            "Signature expired: 20231114T221320Z is now earlier than "
            "20231114T222820Z (20231114T223320Z - 5 min.)"
        )
        state = attempt(Failure.CLOCK_SKEW, message=message, local_time=NOW)
        decision = decide(state, POLICY)
        assert decision.action is Action.CORRECT_CLOCK
        assert decision.offset == pytest.approx(1_700_001_200 - NOW)

    def test_ambiguous_type_needs_five_minutes(self) -> None:
        """InvalidSignatureException with a close Date is a real signature error."""
        near = attempt(Failure.CLOCK_SKEW, server_time=NOW + 30, message="mismatch")
        assert decide(near, POLICY).action is Action.RAISE
        far = attempt(Failure.CLOCK_SKEW, server_time=NOW + 301, message="mismatch")
        assert decide(far, POLICY).action is Action.CORRECT_CLOCK

    def test_only_once(self) -> None:
        """A second skew rejection in one call is raised."""
        state = attempt(
            Failure.CLOCK_SKEW,
            server_time=NOW + 1200,
            message="Signature expired",
            skew_corrected=True,
        )
        assert decide(state, POLICY).action is Action.RAISE

    def test_no_clock_information(self) -> None:
        """Without a Date header or a parsable message, the error is raised."""
        state = attempt(Failure.CLOCK_SKEW, message="Signature expired")
        assert decide(state, POLICY).action is Action.RAISE


class TestHeaderParsing:
    def test_http_date(self) -> None:
        """RFC 7231 dates become epoch seconds."""
        assert parse_http_date("Tue, 14 Nov 2023 22:13:20 GMT") == 1_700_000_000
        assert parse_http_date("garbage") is None
        assert parse_http_date(None) is None

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("3", 3.0),
            ("0.5", 0.5),
            ("-4", 0.0),
            ("Tue, 14 Nov 2023 22:13:30 GMT", 10.0),
            ("soon", None),
            ("nan", None),
            (None, None),
        ],
    )
    def test_retry_after(self, value: str | None, expected: float | None) -> None:
        """Retry-After is seconds or an HTTP date relative to the server's Date."""
        assert parse_retry_after(value, 1_700_000_000.0) == expected

    def test_server_time_in_message(self) -> None:
        """The "(<now> + 5 min.)" stamp of a skew message is the server's clock."""
        message = "... is still later than X (20231114T221320Z + 5 min.)"
        assert server_time_from_message(message) == 1_700_000_000
        assert server_time_from_message("no stamp") is None
