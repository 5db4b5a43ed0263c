"""Client-side pacing of requests: a fixed token bucket and an adaptive rate.

AppSync throttles each API at a request-token rate (2,000/s by default,
adjustable by quota request); a batch sent faster than that bounces off it:
throttled attempts, retries, wasted time. :class:`TokenBucket` sends at most
``rate`` attempts per second; :class:`AdaptiveRateLimiter` learns the rate
from throttling answers, as the AWS SDKs' adaptive retry mode does
(botocore ``retries/adaptive.py``, ``throttling.py``, ``bucket.py``):
unlimited until the first throttle, then a CUBIC curve (smooth increase
towards, and past, the rate that was last throttled) with a multiplicative
back-off on throttling.

Both have a ``clock`` seam (``time.monotonic`` by default) and a ``sleep``
seam; :meth:`reserve` is the pure part (how long the next attempt waits).
Every attempt, retries included, passes through the limiter
(:meth:`acquire` before sending, :meth:`record` with the outcome).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final, Literal, overload

from ._errors import ConfigurationError

__all__ = ["AdaptiveRateLimiter", "Rate", "RateLimiter", "TokenBucket", "as_limiter"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[object]]

_MIN_RATE: Final = 0.5  # attempts/s, as botocore's TokenBucket
_SLACK: Final = 1.05  # a limit within 5 % of the admitted rate is "at" it
_MAX_HOLD: Final = 2.0  # seconds


def _check_rate(name: str, value: object, minimum: float = 0.0) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not value > minimum
    ):
        raise ConfigurationError(
            f"{name} must be a finite number > {minimum:g}, not {value!r}"
        )
    return float(value)


class TokenBucket:
    """At most ``rate`` attempts per second, ``burst`` of them back to back.

    ``burst`` defaults to a twentieth of a second's worth (at least 1): a
    client bucket that bursts more than the server's runs into its limit.
    Waiters are served first come, first served (each reservation takes the
    next slot, no lock, no polling).

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._burst_set = None if burst is None else _check_rate("burst", burst, 0.0)
        self._next = -math.inf  # the theoretical time of the next free slot
        self.rate = rate

    @property
    def rate(self) -> float:
        """Attempts per second (settable)."""
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._rate = max(_check_rate("rate", value), _MIN_RATE)
        burst = self._burst_set or max(1.0, self._rate / 20)
        self._interval = 1.0 / self._rate
        self._tolerance = (max(burst, 1.0) - 1.0) * self._interval

    @property
    def burst(self) -> float:
        return self._tolerance * self._rate + 1.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rate={self._rate:g}, burst={self.burst:g})"

    def reserve(self) -> float:
        """Take the next slot: the seconds to wait before sending (pure, clock only)."""
        now = self._clock()
        due = self._next if self._next > now else now  # GCRA's arrival time
        self._next = due + self._interval
        due -= self._tolerance
        return due - now if due > now + 1e-9 else 0.0  # 1e-9: float rounding

    async def acquire(self) -> float:
        """Wait for a slot; the clock's time at sending (pass it to :meth:`record`)."""
        delay = self.reserve()
        if delay > 0.0:
            await self._sleep(delay)
        return self._clock()

    def record(self, sent_at: float, *, throttled: bool) -> None:
        """The outcome of an attempt sent at ``sent_at``: a fixed rate ignores it."""


class _SendRate:
    """Events per second over the last ``window`` seconds (0.1 s bins).

    The span starts at the first event (not at construction): a client that
    takes a while to open its connections is not measured as slow.
    """

    __slots__ = ("_bins", "_start", "_total", "_window")

    def __init__(self, window: float = 0.5) -> None:
        self._bins: deque[list[float]] = deque()  # [bin start, count]
        self._start: float | None = None
        self._total = 0.0
        self._window = window

    def add(self, now: float) -> None:
        bins = self._bins
        key = math.floor(now * 10) / 10
        if bins and bins[-1][0] == key:
            bins[-1][1] += 1
        else:
            bins.append([key, 1.0])
            if self._start is None:
                self._start = now
        self._total += 1

    @property
    def start(self) -> float | None:
        return self._start

    def restart(self, now: float) -> None:
        """Forget what was counted: measure from ``now`` on."""
        self._bins.clear()
        self._total = 0.0
        self._start = now

    @overload
    def rate(self, now: float) -> float: ...
    @overload
    def rate(self, now: float, *, minimum_span: float) -> float | None: ...

    def rate(self, now: float, *, minimum_span: float = 0.0) -> float | None:
        """Per second over the window (or since the start, if later); None
        when that span is shorter than ``minimum_span`` (too few to tell)."""
        start = self._start
        if start is None or now - start < minimum_span:
            return None if minimum_span else 0.0
        bins, horizon = self._bins, now - self._window
        while bins and bins[0][0] + 0.1 <= horizon:
            self._total -= bins.popleft()[1]
        return self._total / min(self._window, max(now - start, minimum_span or 0.1))


class AdaptiveRateLimiter(TokenBucket):
    """A rate learned from throttling (the AWS SDKs' adaptive mode, adjusted).

    Unlimited until the first throttled attempt. From then on, on a
    throttled attempt: ``w_max`` becomes the best estimate of the rate the
    server admits and the limit drops to ``beta * w_max``; on every other
    answer the limit follows the CUBIC curve ``scale * (t - K)**3 + w_max``
    (``t``: seconds since the last back-off; ``K`` the time at which it
    returns to ``w_max``), capped at twice the measured send rate. So the
    limit climbs back quickly, flattens near the rate that was throttled,
    then probes past it.

    Differences from botocore, each measured in ``benchmarks/quota.py``
    (20,000 mutations at a 1,000/s quota: botocore's rules as first built
    here averaged 0.57× of the quota on a quiet machine):

    - ``w_max`` is the rate of *admitted* answers over the last half second
      (the send rate when nothing was admitted yet), at most the current
      limit. Once the server's bucket is empty it admits exactly its quota,
      whatever the client sends; botocore's send rate overshoots it at the
      first throttle and undershoots it after a pause.
    - ``beta`` is 0.9 (botocore: 0.7, which averages ~0.92 of the quota over
      a cycle; 0.9 averages ~0.97).
    - One back-off per round trip, as TCP cuts once per window: attempts
      sent before the last back-off, or within two smoothed round trips
      after it, do not back off again. They met a server bucket that the
      old rate had emptied (the answers in flight, then the time the bucket
      takes to hold a token again), so each would otherwise compound the
      cut: ten cuts in 50 ms took 1,192/s down to 463/s in that benchmark.
    - Rates are measured over a sliding half second from the first attempt,
      rather than botocore's 0.5 s buckets from construction.

    .. versionadded:: 0.2.0
    """

    def __init__(
        self,
        *,
        beta: float = 0.9,
        scale: float = 0.4,
        burst: float | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 0.0 < beta < 1.0:
            raise ConfigurationError(f"beta must be between 0 and 1, not {beta!r}")
        super().__init__(1.0, burst=burst, clock=clock, sleep=sleep)
        self.beta = beta
        self.scale = _check_rate("scale", scale)
        self.enabled = False  # no limit until the first throttle
        self.throttles = 0  # throttled attempts recorded
        self.backoffs = 0  # of which caused a back-off
        self.w_max = 0.0
        self._k = 0.0
        self._last_backoff = -math.inf
        self._hold_until = -math.inf  # attempts sent before this do not cut
        self._srtt: float | None = None  # smoothed seconds from send to answer
        self._sent = _SendRate()
        self._admitted = _SendRate()  # answers not throttled
        self._since_cut = _SendRate()  # the same, since the last back-off

    def __repr__(self) -> str:
        limit = f"{self._rate:.0f}/s" if self.enabled else "unlimited"
        return (
            f"AdaptiveRateLimiter({limit}, w_max={self.w_max:.0f}, "
            f"throttles={self.throttles}, backoffs={self.backoffs})"
        )

    def reserve(self) -> float:
        now = self._clock()
        if self._admitted.start is None:  # answers counted from the first send
            self._admitted.restart(now)
        self._sent.add(now)
        if not self.enabled:
            return 0.0
        return super().reserve()

    def record(self, sent_at: float, *, throttled: bool) -> None:
        now = self._clock()
        rtt = max(now - sent_at, 0.0)
        srtt = self._srtt
        self._srtt = srtt = rtt if srtt is None else srtt + (rtt - srtt) / 8  # RFC 6298
        if throttled:
            self.throttles += 1
            if sent_at < self._last_backoff:
                return  # sent at the old rate: that rate was already cut
            since_cut = self._since_cut.rate(now, minimum_span=0.05)
            if now < self._hold_until:
                if since_cut is None or self._rate <= _SLACK * since_cut:
                    return  # at the admitted rate: the server's bucket refills
                current = since_cut  # still above it: the server admits this
            elif self.enabled:
                current = min(self._admitted.rate(now) or self._rate, self._rate)
            else:  # an overestimate: the next throttle, if any, corrects it
                current = self._admitted.rate(now) or self._sent.rate(now)
            self.w_max = max(current, _MIN_RATE)
            self._k = (self.w_max * (1.0 - self.beta) / self.scale) ** (1.0 / 3.0)
            self._last_backoff = now
            self._since_cut.restart(now)
            self.backoffs += 1
            self.enabled = True
            self.rate = self.w_max * self.beta
            # The server's bucket, emptied by the old rate, needs this long to
            # hold one of our bursts again at the new rate (and the answers
            # in flight two round trips to drain).
            refill = self.burst / ((1.0 - self.beta) * self.w_max)
            self._hold_until = now + min(2.0 * srtt + refill, _MAX_HOLD)
            return
        self._admitted.add(now)
        self._since_cut.add(now)
        if self.enabled:
            t = now - self._last_backoff
            cubic = self.scale * (t - self._k) ** 3 + self.w_max
            cap = 2.0 * self._sent.rate(now)
            self.rate = max(min(cubic, cap), _MIN_RATE)


RateLimiter = TokenBucket
Rate = float | Literal["adaptive"] | TokenBucket | None


def as_limiter(rate: object) -> TokenBucket | None:
    """The limiter for ``execute_many(rate=...)`` (a new one per batch)."""
    if rate is None or isinstance(rate, TokenBucket):
        return rate
    if rate == "adaptive":
        return AdaptiveRateLimiter()
    if isinstance(rate, str):
        raise ConfigurationError(
            f"rate must be a number of requests per second, 'adaptive', a "
            f"TokenBucket or None, not {rate!r}"
        )
    return TokenBucket(_check_rate("rate", rate))
