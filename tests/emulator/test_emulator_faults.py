"""Fault injection: each kind observed on the wire, with a seeded generator."""

from __future__ import annotations

import time

import aiohttp
import pytest
from emulator_helpers import BUMP, HELLO, Answer, post, sign

from appsync_iam.emulator import AppSyncEmulator, Faults

Session = aiohttp.ClientSession


async def send(emulator: AppSyncEmulator, session: Session, body: bytes) -> Answer:
    headers = sign(emulator.url, body, emulator.credentials)
    return await post(session, emulator.url, body, headers)


class TestHTTPFaults:
    async def test_throttle(self, emulator: AppSyncEmulator, session: Session) -> None:
        """throttle_rate=1: 429 with a throttling errorType; nothing runs."""
        emulator.faults.throttle_rate = 1.0
        answer = await send(emulator, session, BUMP)
        assert answer.status == 429
        assert answer.error_type == "TooManyRequestsException"
        assert answer.headers["x-amzn-RequestId"]
        assert emulator.faults.injected["throttle"] == 1
        assert emulator.executed == []

    async def test_throttle_error_type_is_settable(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """throttle_error_type changes the errorType sent with the 429."""
        emulator.faults.throttle_rate = 1.0
        emulator.faults.throttle_error_type = "ThrottlingException"
        answer = await send(emulator, session, HELLO)
        assert (answer.status, answer.error_type) == (429, "ThrottlingException")

    @pytest.mark.parametrize(
        ("status", "error_type"),
        [(500, "InternalFailure"), (502, "BadGateway"), (503, "ServiceUnavailable")],
    )
    async def test_5xx(
        self,
        emulator: AppSyncEmulator,
        session: Session,
        status: int,
        error_type: str,
    ) -> None:
        """error_5xx_rate=1: the chosen 5xx status with JSON; nothing runs."""
        emulator.faults.error_5xx_rate = 1.0
        emulator.faults.error_5xx_status = status
        answer = await send(emulator, session, BUMP)
        assert (answer.status, answer.error_type) == (status, error_type)
        assert emulator.faults.injected["error_5xx"] == 1
        assert emulator.executed == []

    async def test_reset_before(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """reset_before_rate=1: the connection drops unanswered; nothing runs."""
        emulator.faults.reset_before_rate = 1.0
        with pytest.raises(aiohttp.ClientConnectionError):
            await send(emulator, session, BUMP)
        assert emulator.faults.injected["reset_before"] == 1
        assert emulator.executed == []

    async def test_reset_after(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """reset_after_rate=1: the mutation runs, then the connection drops."""
        emulator.faults.reset_after_rate = 1.0
        with pytest.raises(aiohttp.ClientConnectionError):
            await send(emulator, session, BUMP)
        assert emulator.faults.injected["reset_after"] == 1
        assert [op.field for op in emulator.executed] == ["bump"]
        emulator.faults.reset_after_rate = 0.0
        answer = await send(emulator, session, BUMP)
        assert answer.json == {"data": {"bump": 4}}  # the dropped one counted

    async def test_latency(self, emulator: AppSyncEmulator, session: Session) -> None:
        """latency_ms=(150, 200) delays the answer by at least 150 ms."""
        emulator.faults.latency_ms = (150, 200)
        started = time.monotonic()
        answer = await send(emulator, session, HELLO)
        elapsed = time.monotonic() - started
        assert answer.status == 200
        assert 0.15 <= elapsed < 2.0
        assert emulator.faults.injected["latency"] == 1

    async def test_faults_apply_only_after_auth(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """An unsigned request is rejected for auth, never throttled."""
        emulator.faults.throttle_rate = 1.0
        answer = await post(session, emulator.url, HELLO, {})
        assert (answer.status, answer.error_type) == (401, "UnauthorizedException")
        assert emulator.faults.injected["throttle"] == 0

    async def test_faults_change_at_runtime(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """Turning a fault off takes effect on the next request; clear() resets all."""
        emulator.faults.throttle_rate = 1.0
        assert (await send(emulator, session, HELLO)).status == 429
        emulator.faults.clear()
        assert (await send(emulator, session, HELLO)).status == 200
        assert emulator.faults.injected == {}


class TestSeeded:
    async def test_same_seed_same_faults(
        self, emulator: AppSyncEmulator, session: Session
    ) -> None:
        """With the same seed, a 50% throttle hits the same requests each run."""

        async def run() -> list[int]:
            emulator.faults.seed(1234)
            return [(await send(emulator, session, HELLO)).status for _ in range(20)]

        emulator.faults.throttle_rate = 0.5
        first, second = await run(), await run()
        assert first == second
        assert set(first) == {200, 429}

    async def test_constructor_seed(self, session: Session) -> None:
        """AppSyncEmulator(seed=n) seeds the faults like faults.seed(n)."""
        from emulator_helpers import TINY_SDL

        statuses = []
        for _ in range(2):
            async with AppSyncEmulator(TINY_SDL, seed=99) as emulator:
                emulator.faults.error_5xx_rate = 0.5
                statuses.append(
                    [(await send(emulator, session, HELLO)).status for _ in range(12)]
                )
        assert statuses[0] == statuses[1]


class TestFaultsValue:
    def test_rates_are_validated(self) -> None:
        """A rate outside [0, 1] or a reversed latency range raises ValueError."""
        faults = Faults()
        with pytest.raises(ValueError, match="throttle_rate"):
            faults.throttle_rate = 1.5
        with pytest.raises(ValueError, match="latency_ms"):
            faults.latency_ms = (200, 100)
        with pytest.raises(ValueError, match="error_5xx_status"):
            faults.error_5xx_status = 404
        with pytest.raises(ValueError):
            Faults(reset_after_rate=-0.1)

    def test_draws_and_records_are_counted(self) -> None:
        """draw() counts what it injects; record() counts real-time faults."""
        faults = Faults()
        assert not faults.draw("throttle", 0.0)
        assert faults.draw("throttle", 1.0)
        faults.record("drop_ws")
        assert faults.injected == {"throttle": 1, "drop_ws": 1}
        assert faults.draw_latency() == 0.0
