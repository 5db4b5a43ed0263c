"""Client-side pacing: TokenBucket, AdaptiveRateLimiter, execute_many(rate=...).

The limiters are driven by a fake clock (their public ``clock`` seam); the
functional tests run batches against the emulator's quota fault.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from appsync_iam import (
    AdaptiveRateLimiter,
    AppSyncClient,
    ConfigurationError,
    ThrottlingError,
    TokenBucket,
)
from appsync_iam.emulator import AppSyncEmulator

from .conftest import FAST_RETRY, NO_RETRY, POST


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def rows(n: int) -> Iterator[dict[str, Any]]:
    return ({"room": "q", "content": str(i)} for i in range(n))


class TestTokenBucket:
    def test_spaces_reservations_at_the_rate(self) -> None:
        """burst=1: each reservation waits one interval more than the last."""
        clock = FakeClock()
        bucket = TokenBucket(10, burst=1, clock=clock)
        assert [round(bucket.reserve(), 6) for _ in range(4)] == [0, 0.1, 0.2, 0.3]
        clock.now += 10  # idle time does not pile up more than the burst
        assert [round(bucket.reserve(), 6) for _ in range(2)] == [0, 0.1]

    def test_burst_then_rate(self) -> None:
        clock = FakeClock()
        bucket = TokenBucket(100, burst=5, clock=clock)
        delays = [bucket.reserve() for _ in range(7)]
        assert delays[:5] == [0.0] * 5
        assert delays[5:] == pytest.approx([0.01, 0.02])
        assert bucket.burst == pytest.approx(5)

    def test_default_burst_is_a_twentieth_of_a_second(self) -> None:
        assert TokenBucket(1000).burst == pytest.approx(50)
        assert TokenBucket(2).burst == pytest.approx(1)

    @pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "5"])
    def test_bad_rates(self, bad: Any) -> None:
        with pytest.raises(ConfigurationError, match="rate must be"):
            TokenBucket(bad)

    async def test_acquire_sleeps_through_the_sleep_seam(self) -> None:
        clock = FakeClock()
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            clock.now += seconds

        bucket = TokenBucket(4, burst=1, clock=clock, sleep=sleep)
        stamps = [await bucket.acquire() for _ in range(3)]
        assert slept == pytest.approx([0.25, 0.25])
        assert stamps == pytest.approx([100.0, 100.25, 100.5])


class TestAdaptive:
    def send(self, limiter: AdaptiveRateLimiter, clock: FakeClock, rate: float,
             seconds: float) -> float:  # fmt: skip
        """Reserve at ``rate``/s for ``seconds``; returns the last send time."""
        for _ in range(int(rate * seconds)):
            clock.now += 1 / rate
            limiter.reserve()
        return clock.now

    def test_unlimited_until_the_first_throttle(self) -> None:
        clock = FakeClock()
        limiter = AdaptiveRateLimiter(clock=clock)
        assert not limiter.enabled
        assert all(limiter.reserve() == 0.0 for _ in range(1000))
        assert "unlimited" in repr(limiter)

    def serve(self, limiter: AdaptiveRateLimiter, clock: FakeClock, sent: float,
              admitted: float, seconds: float, rtt: float = 0.005) -> None:  # fmt: skip
        """Send at ``sent``/s for ``seconds``, ``admitted``/s of them answered ok."""
        credit = 0.0
        for _ in range(int(sent * seconds)):
            clock.now += 1 / sent
            limiter.reserve()
            credit += admitted / sent
            if credit >= 1.0:
                credit -= 1.0
                limiter.record(clock.now - rtt, throttled=False)

    def test_first_throttle_cuts_to_beta_x_the_admitted_rate(self) -> None:
        clock = FakeClock()
        limiter = AdaptiveRateLimiter(clock=clock)
        self.serve(limiter, clock, sent=2000, admitted=1000, seconds=0.6)
        limiter.record(clock.now - 0.005, throttled=True)
        assert limiter.enabled and limiter.backoffs == 1
        assert limiter.w_max == pytest.approx(1000, rel=0.03)
        assert limiter.rate == pytest.approx(0.9 * limiter.w_max)

    def test_first_throttle_without_answers_uses_the_send_rate(self) -> None:
        clock = FakeClock()
        limiter = AdaptiveRateLimiter(clock=clock)
        sent = self.send(limiter, clock, 2000, 0.6)
        limiter.record(sent, throttled=True)
        assert limiter.w_max == pytest.approx(2000, rel=0.02)

    def test_one_cut_per_round_trip(self) -> None:
        """Answers sent before the cut, and throttles within the hold while
        the limit is at what the server admits, do not cut again; after the
        hold, a throttle does."""
        clock = FakeClock()
        limiter = AdaptiveRateLimiter(clock=clock)
        self.serve(limiter, clock, sent=2000, admitted=1000, seconds=0.6)
        cut_at = clock.now
        limiter.record(cut_at - 0.005, throttled=True)
        for _ in range(20):  # answers still in flight, sent before the cut
            limiter.record(cut_at - 0.001, throttled=True)
        assert limiter.backoffs == 1 and limiter.throttles == 21
        # 0.1 s at the new limit, all admitted: the server's bucket refilling
        self.serve(limiter, clock, sent=limiter.rate, admitted=limiter.rate,
                   seconds=0.1)  # fmt: skip
        limiter.record(clock.now - 0.005, throttled=True)
        assert limiter.backoffs == 1 and limiter.throttles == 22
        # past the hold (two round trips + the time to refill one burst)
        self.serve(limiter, clock, sent=limiter.rate, admitted=limiter.rate,
                   seconds=1.0)  # fmt: skip
        before = limiter.rate
        limiter.record(clock.now - 0.005, throttled=True)
        assert limiter.backoffs == 2
        assert limiter.rate == pytest.approx(0.9 * before, rel=0.03)

    def test_cut_again_within_the_hold_when_far_above_what_is_admitted(
        self,
    ) -> None:
        """A first cut from an overestimate (the server's burst counted as
        its rate) is corrected at the next throttle: to beta x what the server
        admitted since the cut, without waiting out the hold."""
        clock = FakeClock()
        limiter = AdaptiveRateLimiter(clock=clock)
        self.serve(limiter, clock, sent=3000, admitted=2000, seconds=0.3)
        limiter.record(clock.now - 0.005, throttled=True)
        assert limiter.rate == pytest.approx(1800, rel=0.03)
        self.serve(limiter, clock, sent=limiter.rate, admitted=1000, seconds=0.1)
        limiter.record(clock.now - 0.005, throttled=True)
        assert limiter.backoffs == 2
        assert limiter.w_max == pytest.approx(1000, rel=0.05)
        assert limiter.rate == pytest.approx(900, rel=0.05)

    @pytest.mark.parametrize(
        ("latency", "jitter"), [(0.001, 0.0), (0.005, 0.01), (0.02, 0.05)]
    )
    def test_simulated_batch_runs_at_the_quota(
        self, latency: float, jitter: float
    ) -> None:
        """A discrete-event model of benchmarks/quota.py on the clock seam: 64
        workers, a server with a 1,000/s token bucket (burst 100), a queue
        (0.7 ms a request, 0.2 ms a throttle), network latency and jitter.
        The batch reaches >= 0.95x the quota with < 1 % of attempts
        throttled (the first version of the limiter: 0.64-0.95x)."""
        n, quota, burst = 20_000, 1000.0, 100.0  # as benchmarks/quota.py
        rng = random.Random(7)
        clock = FakeClock()
        limiter = AdaptiveRateLimiter(clock=clock)
        events: list[tuple[float, int, str, float, bool]] = []
        seq = 0

        def at(t: float, kind: str, sent: float = 0.0, thr: bool = False) -> None:
            nonlocal seq
            seq += 1
            heapq.heappush(events, (t, seq, kind, sent, thr))

        start = clock.now
        tokens, last, busy = burst, start, start
        todo, done, attempts, throttled = n - 64, 0, 0, 0
        for _ in range(64):
            at(start, "start")
        while events:
            t, _, kind, sent, thr = heapq.heappop(events)
            clock.now = t
            if kind == "start":
                at(t + limiter.reserve(), "send")
            elif kind == "send":
                attempts += 1
                begin = max(t + rng.uniform(0.0, jitter), busy)
                tokens = min(burst, tokens + max(begin - last, 0.0) * quota)
                last = max(last, begin)
                if tokens >= 1.0:
                    tokens -= 1.0
                    busy = begin + 0.0007
                    at(busy + latency, "answer", t, False)
                else:
                    throttled += 1
                    busy = begin + 0.0002
                    at(busy + latency, "answer", t, True)
            else:
                limiter.record(sent, throttled=thr)
                if thr:
                    at(t, "start")  # retried
                else:
                    done += 1
                    if todo > 0:
                        todo -= 1
                        at(t, "start")
        assert done == n
        assert n / (clock.now - start) >= 0.95 * quota, limiter
        assert throttled / attempts < 0.01, limiter

    def test_cubic_recovery_to_w_max_then_past_it(self) -> None:
        clock = FakeClock()
        limiter = AdaptiveRateLimiter(clock=clock)
        sent = self.send(limiter, clock, 1000, 0.6)
        limiter.record(sent, throttled=True)
        w_max = limiter.w_max
        k = (w_max * 0.1 / 0.4) ** (1 / 3)  # about 6.3 s at 1000/s
        rates = []
        for _ in range(int(k * 1.5 * 10)):  # 0.1 s steps, sending at the limit
            self.send(limiter, clock, limiter.rate, 0.1)
            limiter.record(clock.now, throttled=False)
            rates.append(limiter.rate)
        assert rates == sorted(rates)  # never decreases without a throttle
        at_k = rates[int(k * 10) - 1]
        assert at_k == pytest.approx(w_max, rel=0.02)
        assert rates[-1] > w_max  # probes past the last throttled rate
        # concave then convex: most of the climb happens early
        assert rates[len(rates) // 3] > 0.97 * w_max

    def test_rate_capped_at_twice_what_is_sent(self) -> None:
        clock = FakeClock()
        limiter = AdaptiveRateLimiter(clock=clock)
        limiter.record(self.send(limiter, clock, 1000, 0.6), throttled=True)
        clock.now += 30  # a long idle spell: the cubic curve is far above 1000
        for _ in range(10):
            clock.now += 0.01
            limiter.reserve()
        limiter.record(clock.now, throttled=False)
        assert limiter.rate <= 2 * 10 / 0.5 + 1e-9

    def test_bad_parameters(self) -> None:
        with pytest.raises(ConfigurationError, match="beta"):
            AdaptiveRateLimiter(beta=1.0)
        with pytest.raises(ConfigurationError, match="scale"):
            AdaptiveRateLimiter(scale=0)


class TestExecuteManyRate:
    @pytest.mark.parametrize("bad", ["fast", -5, 0, float("nan")])
    async def test_bad_rate_raises_before_sending(
        self, client: AppSyncClient, emulator: AppSyncEmulator, bad: Any
    ) -> None:
        with pytest.raises(ConfigurationError, match="rate must be"):
            client.execute_many(POST, rows(3), rate=bad)
        assert emulator.executed == []

    async def test_fixed_rate_paces_the_batch(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """rate=100 with the default burst (5): 60 items take >= 0.5 s."""
        started = time.monotonic()
        results = [r async for r in client.execute_many(POST, rows(60), rate=100)]
        elapsed = time.monotonic() - started
        assert all(r.ok for r in results)
        assert elapsed >= (60 - 5) / 100 * 0.95

    async def test_quota_fault_throttles_without_running(
        self, emulator: AppSyncEmulator
    ) -> None:
        """The quota bucket (burst: a tenth of a second) answers AppSync's
        throttling error and does not run the mutation."""
        emulator.faults.quota_per_s = 20  # burst: 2
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=NO_RETRY
        ) as client:
            results = [
                r async for r in client.execute_many(POST, rows(12), concurrency=12)
            ]
        throttled = [r for r in results if isinstance(r.error, ThrottlingError)]
        ok = [r for r in results if r.ok]
        assert len(ok) + len(throttled) == 12
        assert 2 <= len(ok) <= 4 and emulator.faults.injected["quota"] == len(throttled)
        assert throttled[0].error is not None
        assert throttled[0].error.status == 429  # type: ignore[attr-defined]
        ran = sorted(int(op.arguments["content"]) for op in emulator.executed)
        assert ran == sorted(r.index for r in ok)
        emulator.faults.clear()
        assert emulator.faults.quota_per_s is None

    @pytest.mark.parametrize("bad", [0, -1, "x"])
    def test_quota_fault_rejects_bad_values(
        self, emulator: AppSyncEmulator, bad: Any
    ) -> None:
        with pytest.raises((ValueError, TypeError)):
            emulator.faults.quota_per_s = bad

    async def test_adaptive_learns_the_quota(self, emulator: AppSyncEmulator) -> None:
        """A 1,200-item batch at a 300/s quota: every item ran exactly once;
        once the rate is learned (second half), few attempts are throttled."""
        emulator.faults.quota_per_s = 300
        limiter = AdaptiveRateLimiter()
        halfway = 0
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=FAST_RETRY
        ) as client:
            started = time.monotonic()
            results = []
            async for r in client.execute_many(
                POST, rows(1200), concurrency=32, rate=limiter
            ):
                results.append(r)
                if r.index == 599:
                    halfway = limiter.throttles
            elapsed = time.monotonic() - started
        assert all(r.ok for r in results), [r.error for r in results if r.error][:3]
        ran = Counter(op.arguments["content"] for op in emulator.executed)
        assert len(ran) == 1200 and max(ran.values()) == 1
        throttled = emulator.faults.injected["quota"]
        assert limiter.enabled and limiter.throttles == throttled
        assert (throttled - halfway) / 600 < 0.03, (halfway, throttled)
        # 1,200 at 300/s is 4 s; the emulator may be slower on a busy machine.
        assert elapsed >= 1200 / 300 * 0.9
        assert elapsed < 30
