"""Credential sources: caching, refresh windows, single-flight, off-loop botocore.

botocore is exercised for real: a temp AWS config whose profile runs a
``credential_process`` script (which can be slow, fail, or count its runs).
The environment is cleared and IMDS disabled so nothing on this machine leaks in.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import shlex
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pytest

from appsync_iam import (
    AppSyncClient,
    BotocoreCredentials,
    CallableCredentials,
    ConfigurationError,
    CredentialsError,
    CredentialSource,
    DefaultCredentials,
    EnvironmentCredentials,
    FrozenCredentials,
    StaticCredentials,
)
from appsync_iam._credentials import as_credential_source

T = TypeVar("T")

SECRET = "SECRETVALUE"  # every secret key in this file contains it
TOKEN = "TOKENVALUE"  # every session token in this file contains it

PROCESS_SCRIPT = textwrap.dedent(
    """
    import datetime, json, pathlib, sys, time

    here = pathlib.Path(__file__).parent
    control = json.loads((here / "control.json").read_text())
    with open(here / "runs.txt", "a") as runs:
        runs.write("run\\n")
    n = len((here / "runs.txt").read_text().splitlines())
    time.sleep(control["sleep"])
    if control["fail"]:
        sys.stderr.write("credential service refused the test\\n")
        sys.exit(1)
    answer = {
        "Version": 1,
        "AccessKeyId": f"AKIDEXAMPLE{n}",
        "SecretAccessKey": f"SECRETVALUE{n}",
        "SessionToken": f"TOKENVALUE{n}",
    }
    if control["lifetime"] is not None:
        now = datetime.datetime.now(datetime.timezone.utc)
        expiry = now + datetime.timedelta(seconds=control["lifetime"])
        answer["Expiration"] = expiry.isoformat()
    print(json.dumps(answer))
    """
)


def in_(seconds: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=seconds)


def creds(n: int = 1, lifetime: float | None = None) -> FrozenCredentials:
    expiry = None if lifetime is None else in_(lifetime)
    return FrozenCredentials(f"AKIDEXAMPLE{n}", f"{SECRET}{n}", f"{TOKEN}{n}", expiry)


class Provider:
    """A counting async credential provider whose fetches the test can steer."""

    def __init__(self, lifetime: float | None = 3600.0, delay: float = 0.0) -> None:
        self.lifetime = lifetime
        self.delay = delay
        self.calls = 0
        self.fail = False
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> FrozenCredentials:
        self.calls += 1
        n = self.calls
        if self.gate is not None:
            await self.gate.wait()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("provider is down")
        return creds(n, self.lifetime)


async def max_gap_while(awaitable: Awaitable[T]) -> tuple[T, float]:
    """Await ``awaitable`` while a 10 ms heartbeat runs; the longest gap seen."""
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.03)
    try:
        result = await awaitable
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)
    return result, max(gaps)


async def settle(source: Any) -> None:
    """Let background refreshes of ``source`` land."""
    for _ in range(100):
        if not source._flights:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("background refresh did not finish")


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS_* variables, empty config files, no IMDS, no legacy boto files."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "BOTO")):
            monkeypatch.delenv(name)
    aws = tmp_path / "aws"
    aws.mkdir()
    (aws / "config").write_text("")
    (aws / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(aws / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("BOTO_CONFIG", str(aws / "no-boto.cfg"))
    return aws


class Process:
    """The credential_process profile ``proc`` and its control/counter files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.set(sleep=0.0, lifetime=3600.0, fail=False)

    def set(self, *, sleep: float, lifetime: float | None, fail: bool) -> None:
        control = {"sleep": sleep, "lifetime": lifetime, "fail": fail}
        (self.folder / "control.json").write_text(json.dumps(control))

    @property
    def runs(self) -> int:
        path = self.folder / "runs.txt"
        return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture
def process(aws_env: Path) -> Process:
    script = aws_env / "credential_process.py"
    script.write_text(PROCESS_SCRIPT)
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    (aws_env / "config").write_text(f"[profile proc]\ncredential_process = {command}\n")
    return Process(aws_env)


class TestStaticCredentials:
    async def test_always_the_same_snapshot(self) -> None:
        """get_frozen and refresh return the snapshot given at construction."""
        source = StaticCredentials("AKIDEXAMPLE", SECRET, TOKEN)
        first = await source.get_frozen()
        assert first == FrozenCredentials("AKIDEXAMPLE", SECRET, TOKEN)
        assert await source.get_frozen() is first
        assert await source.refresh() is first

    async def test_empty_token_means_none(self) -> None:
        """An empty token is the same as no token."""
        snapshot = await StaticCredentials("AKIDEXAMPLE", SECRET, "").get_frozen()
        assert snapshot.token is None

    @pytest.mark.parametrize(
        ("key", "secret", "missing"),
        [("", SECRET, "access key id"), ("AKIDEXAMPLE", "", "secret key")],
    )
    def test_missing_part_is_named_without_the_secret(
        self, key: str, secret: str, missing: str
    ) -> None:
        """An empty key or secret raises CredentialsError naming it, not the secret."""
        with pytest.raises(CredentialsError, match=missing) as info:
            StaticCredentials(key, secret)
        assert SECRET not in str(info.value)

    async def test_expired_static_credentials_raise(self) -> None:
        """Static credentials past their expiry raise instead of being returned."""
        source = StaticCredentials("AKIDEXAMPLE", SECRET, expiry=in_(-1))
        with pytest.raises(CredentialsError, match="expired"):
            await source.get_frozen()


class TestEnvironmentCredentials:
    async def test_complete(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Key id and secret from the environment, no token, no expiry."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        snapshot = await EnvironmentCredentials().get_frozen()
        assert snapshot == FrozenCredentials("AKIDEXAMPLE", SECRET)

    @pytest.mark.parametrize("variable", ["AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"])
    async def test_token(self, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
        """The session token comes from AWS_SESSION_TOKEN or the legacy name."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv(variable, TOKEN)
        assert (await EnvironmentCredentials().get_frozen()).token == TOKEN

    async def test_expiration(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """AWS_CREDENTIAL_EXPIRATION (ISO 8601 with Z) becomes an aware UTC expiry."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "2099-01-02T03:04:05Z")
        snapshot = await EnvironmentCredentials().get_frozen()
        assert snapshot.expiry == datetime(2099, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    async def test_bad_expiration_is_named(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An unparsable expiration raises CredentialsError naming the variable."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "next tuesday")
        with pytest.raises(CredentialsError, match="AWS_CREDENTIAL_EXPIRATION"):
            await EnvironmentCredentials().get_frozen()

    async def test_expired_environment_credentials_raise(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Credentials the environment says have expired are never returned."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", "2001-01-01T00:00:00+00:00")
        with pytest.raises(CredentialsError, match="expired") as info:
            await EnvironmentCredentials().get_frozen()
        assert SECRET not in str(info.value)

    @pytest.mark.parametrize(
        ("present", "value", "missing"),
        [
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY"),
            ("AWS_SECRET_ACCESS_KEY", SECRET, "AWS_ACCESS_KEY_ID"),
        ],
    )
    async def test_partial_names_the_missing_variable(
        self, monkeypatch: pytest.MonkeyPatch, present: str, value: str, missing: str
    ) -> None:
        """Half the credentials raise CredentialsError naming the other half."""
        monkeypatch.setenv(present, value)
        with pytest.raises(CredentialsError, match=missing) as info:
            await EnvironmentCredentials().get_frozen()
        assert SECRET not in str(info.value)
        assert present not in str(info.value)

    async def test_refresh_reads_the_environment_again(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """get_frozen keeps the snapshot; refresh picks up rotated variables."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE1")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        source = EnvironmentCredentials()
        await source.get_frozen()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE2")
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE1"
        assert (await source.refresh()).access_key == "AKIDEXAMPLE2"


class TestCallableCredentials:
    async def test_frozen_credentials_are_cached_until_the_window(self) -> None:
        """A result with an expiry is cached: two calls, one fetch."""
        provider = Provider(lifetime=3600)
        source = CallableCredentials(provider)
        assert await source.get_frozen() is await source.get_frozen()
        assert provider.calls == 1

    async def test_readonly_credentials_without_expiry_are_cached(self) -> None:
        """ReadOnlyCredentials (no expiry): fetched once, again on refresh()."""
        from botocore.credentials import ReadOnlyCredentials

        calls = 0

        async def get_frozen_credentials() -> ReadOnlyCredentials:
            nonlocal calls
            calls += 1
            return ReadOnlyCredentials(f"AKIDEXAMPLE{calls}", SECRET, TOKEN)

        source = CallableCredentials(get_frozen_credentials)
        first = await source.get_frozen()
        assert first.access_key == "AKIDEXAMPLE1" and first.token == TOKEN
        for _ in range(50):
            assert await source.get_frozen() is first
        assert calls == 1
        # AppSync rejected them: a forced refresh asks the callable at once.
        assert (await source.refresh()).access_key == "AKIDEXAMPLE2"
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE2"
        assert calls == 2

    def test_default_ttl_is_five_minutes(self) -> None:
        """The documented default: 300 s (inside botocore's 15/10 min windows)."""
        parameter = inspect.signature(CallableCredentials).parameters["ttl"]
        assert parameter.default == 300.0

    async def test_ttl_fetches_again_after_it_elapsed(self) -> None:
        """Past ttl the next callers wait for one shared fetch and get its result."""
        provider = Provider(lifetime=None)
        source = CallableCredentials(provider, ttl=0.2)
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE1"
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE1"
        assert provider.calls == 1
        await asyncio.sleep(0.25)
        provider.delay = 0.05
        got = await asyncio.gather(*(source.get_frozen() for _ in range(10)))
        assert {c.access_key for c in got} == {"AKIDEXAMPLE2"}
        assert provider.calls == 2
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE2"
        assert provider.calls == 2

    async def test_ttl_zero_asks_before_every_use(self) -> None:
        """ttl=0 keeps the old behaviour for callables that must be asked each time."""
        provider = Provider(lifetime=None)
        source = CallableCredentials(provider, ttl=0)
        keys = [(await source.get_frozen()).access_key for _ in range(3)]
        assert keys == ["AKIDEXAMPLE1", "AKIDEXAMPLE2", "AKIDEXAMPLE3"]

    async def test_ttl_none_keeps_until_refresh(self) -> None:
        """ttl=None (long-term keys): only refresh() asks again."""
        provider = Provider(lifetime=None)
        source = CallableCredentials(provider, ttl=None)
        await source.get_frozen()
        await asyncio.sleep(0.05)
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE1"
        assert (await source.refresh()).access_key == "AKIDEXAMPLE2"
        assert provider.calls == 2

    async def test_ttl_does_not_apply_to_results_with_an_expiry(self) -> None:
        """A result with an expiry follows the windows, not the ttl."""
        provider = Provider(lifetime=3600)
        source = CallableCredentials(provider, ttl=0)
        assert await source.get_frozen() is await source.get_frozen()
        assert provider.calls == 1

    @pytest.mark.parametrize("bad", [-1, float("nan"), "300", True])
    def test_bad_ttl_is_rejected(self, bad: Any) -> None:
        """A ttl that is not None or a number >= 0 raises ConfigurationError."""
        with pytest.raises(ConfigurationError, match="ttl"):
            CallableCredentials(Provider(), ttl=bad)

    async def test_signed_requests_ask_once_and_again_after_a_rejection(
        self, appsync_emulator: Any
    ) -> None:
        """20 requests ask the callable once; a revoked key is refreshed and retried."""
        emulator = appsync_emulator
        keys = [emulator.add_principal("AKIDEXAMPLEA", f"{SECRET}A")]
        calls = 0

        async def provide() -> FrozenCredentials:
            nonlocal calls
            calls += 1
            return keys[-1]

        query = "query { listRooms { items { id } } }"
        async with AppSyncClient(
            emulator.url, credentials=CallableCredentials(provide)
        ) as client:
            for _ in range(20):
                await client.execute_async(query)
            assert calls == 1
            keys.append(emulator.add_principal("AKIDEXAMPLEB", f"{SECRET}B"))
            emulator.remove_principal("AKIDEXAMPLEA")
            await client.execute_async(query)
        assert calls == 2
        used = [op.access_key for op in emulator.executed]
        assert used == ["AKIDEXAMPLEA"] * 20 + ["AKIDEXAMPLEB"]

    async def test_sync_callable_is_rejected(self) -> None:
        """A sync callable raises ConfigurationError telling how to wrap it."""
        source = CallableCredentials(lambda: creds())  # type: ignore[arg-type,return-value]
        with pytest.raises(ConfigurationError, match="to_thread") as info:
            await source.get_frozen()
        assert SECRET not in str(info.value)

    @pytest.mark.parametrize("bad", [42, CallableCredentials])
    def test_non_callable_is_rejected(self, bad: Any) -> None:
        """A non-callable or a class raises ConfigurationError at construction."""
        with pytest.raises(ConfigurationError, match="async callable"):
            CallableCredentials(bad)

    async def test_wrong_result_type_is_named(self) -> None:
        """A result without credential attributes raises CredentialsError."""

        async def wrong() -> dict[str, str]:
            return {"access_key": "AKIDEXAMPLE", "secret_key": SECRET}

        with pytest.raises(CredentialsError, match="dict") as info:
            await CallableCredentials(wrong).get_frozen()  # type: ignore[arg-type]
        assert SECRET not in str(info.value)

    async def test_provider_error_becomes_credentials_error(self) -> None:
        """An exception in the callable is a CredentialsError with __cause__."""
        provider = Provider()
        provider.fail = True
        with pytest.raises(CredentialsError, match="provider is down") as info:
            await CallableCredentials(provider).get_frozen()
        assert isinstance(info.value.__cause__, RuntimeError)

    async def test_slow_provider_never_stalls_the_loop(self) -> None:
        """A 2 s refresh through an async callable leaves a 10 ms heartbeat on time."""

        async def slow() -> FrozenCredentials:
            await asyncio.to_thread(time.sleep, 2.0)
            return creds(lifetime=3600)

        source = CallableCredentials(slow)
        started = time.perf_counter()
        snapshot, gap = await max_gap_while(source.refresh())
        assert time.perf_counter() - started >= 1.9
        assert snapshot.access_key == "AKIDEXAMPLE1"
        assert gap < 0.05, f"event loop stalled for {gap * 1000:.0f} ms"


class TestRefreshWindows:
    async def test_advisory_window_serves_old_snapshot_while_refreshing(
        self,
    ) -> None:
        """In the advisory window the old snapshot returns at once; the new follows."""
        provider = Provider(lifetime=60)
        source = CallableCredentials(provider, advisory_window=120, mandatory_window=0)
        old = await source.get_frozen()
        provider.gate = asyncio.Event()
        assert await source.get_frozen() is old  # background refresh started
        await asyncio.sleep(0.01)
        assert provider.calls == 2
        assert await source.get_frozen() is old  # no second background refresh
        assert provider.calls == 2
        provider.gate.set()
        await settle(source)
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE2"

    async def test_advisory_failure_is_logged_and_ignored(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A failed advisory refresh logs a warning and keeps serving the snapshot."""
        caplog.set_level(logging.DEBUG, logger="appsync_iam.credentials")
        provider = Provider(lifetime=60)
        source = CallableCredentials(provider, advisory_window=120, mandatory_window=0)
        old = await source.get_frozen()
        provider.fail = True
        assert await source.get_frozen() is old
        await settle(source)
        assert await source.get_frozen() is old
        await settle(source)
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings and "Advisory credential refresh failed" in warnings[0].message
        assert all(r.name == "appsync_iam.credentials" for r in caplog.records)
        for record in caplog.records:
            assert SECRET not in record.getMessage()
            assert TOKEN not in record.getMessage()

    async def test_mandatory_window_waits_for_the_refresh(self) -> None:
        """In the mandatory window callers get the refreshed snapshot."""
        provider = Provider(lifetime=60)
        source = CallableCredentials(provider, advisory_window=120, mandatory_window=90)
        await source.get_frozen()
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE2"
        assert provider.calls == 2

    async def test_mandatory_failure_raises(self) -> None:
        """A failed mandatory refresh raises CredentialsError with the cause."""
        provider = Provider(lifetime=60)
        source = CallableCredentials(provider, advisory_window=120, mandatory_window=90)
        await source.get_frozen()
        provider.fail = True
        with pytest.raises(CredentialsError) as info:
            await source.get_frozen()
        assert isinstance(info.value.__cause__, RuntimeError)
        assert SECRET not in str(info.value)

    async def test_short_lived_credentials_get_scaled_windows(self) -> None:
        """1.2 s credentials are cached, then refreshed in background at half-life."""
        provider = Provider(lifetime=1.2)
        source = CallableCredentials(provider)
        first = await source.get_frozen()
        assert await source.get_frozen() is first  # far from the 0.6 s window
        await asyncio.sleep(0.7)  # <= 0.5 s left: advisory (0.6), not mandatory (0.3)
        assert await source.get_frozen() is first
        await settle(source)
        assert provider.calls == 2
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE2"

    async def test_expired_result_is_never_returned(self) -> None:
        """A provider handing out expired credentials makes get_frozen raise."""
        provider = Provider(lifetime=-1)
        with pytest.raises(CredentialsError, match="expired"):
            await CallableCredentials(provider).get_frozen()

    async def test_expired_snapshot_is_refetched(self) -> None:
        """A cached snapshot that has expired is replaced before it is returned."""
        provider = Provider(lifetime=0.2)
        source = CallableCredentials(provider, advisory_window=0, mandatory_window=0)
        await source.get_frozen()
        await asyncio.sleep(0.25)
        snapshot = await source.get_frozen()
        assert snapshot.access_key == "AKIDEXAMPLE2"
        assert snapshot.expiry is not None
        assert snapshot.expiry > datetime.now(timezone.utc)

    @pytest.mark.parametrize(
        ("advisory", "mandatory"), [(-1.0, None), (None, -1.0), (10.0, 20.0)]
    )
    def test_bad_windows_are_rejected(
        self, advisory: float | None, mandatory: float | None
    ) -> None:
        """Negative windows, or mandatory beyond advisory, are ConfigurationErrors."""
        with pytest.raises(ConfigurationError, match="window"):
            CallableCredentials(
                Provider(), advisory_window=advisory, mandatory_window=mandatory
            )


class TestSingleFlight:
    async def test_concurrent_first_calls_fetch_once(self) -> None:
        """50 concurrent first callers share one fetch and one snapshot."""
        provider = Provider(delay=0.05)
        source = CallableCredentials(provider)
        results = await asyncio.gather(*(source.get_frozen() for _ in range(50)))
        assert provider.calls == 1
        assert all(r is results[0] for r in results)

    async def test_concurrent_callers_on_expiring_credentials_refresh_once(
        self,
    ) -> None:
        """50 callers in the mandatory window trigger exactly one refresh."""
        provider = Provider(lifetime=60, delay=0.05)
        source = CallableCredentials(provider, advisory_window=120, mandatory_window=90)
        await source.get_frozen()
        results = await asyncio.gather(*(source.get_frozen() for _ in range(50)))
        assert provider.calls == 2
        assert {r.access_key for r in results} == {"AKIDEXAMPLE2"}

    async def test_concurrent_forced_refreshes_fetch_once(self) -> None:
        """50 concurrent refresh() calls (say, after ExpiredToken) fetch once."""
        provider = Provider(delay=0.05)
        source = CallableCredentials(provider)
        await source.get_frozen()
        results = await asyncio.gather(*(source.refresh() for _ in range(50)))
        assert provider.calls == 2
        assert {r.access_key for r in results} == {"AKIDEXAMPLE2"}

    async def test_forced_refresh_waits_out_a_lazy_one_then_fetches(self) -> None:
        """refresh() during a background refresh does not take its (stale) result."""
        provider = Provider(lifetime=60)
        source = CallableCredentials(provider, advisory_window=120, mandatory_window=0)
        await source.get_frozen()
        provider.gate = asyncio.Event()
        await source.get_frozen()  # starts background fetch 2, held by the gate
        forced = asyncio.ensure_future(source.refresh())
        await asyncio.sleep(0.01)
        assert provider.calls == 2  # one fetch at a time
        provider.gate.set()
        assert (await forced).access_key == "AKIDEXAMPLE3"

    async def test_cancelled_caller_does_not_cancel_the_fetch(self) -> None:
        """Cancelling one waiter leaves the shared fetch running for the others."""
        provider = Provider(delay=0.05)
        source = CallableCredentials(provider)
        first = asyncio.ensure_future(source.get_frozen())
        second = asyncio.ensure_future(source.get_frozen())
        await asyncio.sleep(0.01)
        first.cancel()
        assert (await second).access_key == "AKIDEXAMPLE1"
        assert first.cancelled()
        assert provider.calls == 1

    def test_works_across_asyncio_run_calls(self) -> None:
        """One source serves several asyncio.run calls, even one left mid-refresh."""
        provider = Provider(lifetime=60, delay=0.05)
        source = CallableCredentials(provider, advisory_window=120, mandatory_window=0)
        assert asyncio.run(source.get_frozen()).access_key == "AKIDEXAMPLE1"
        # Starts a background refresh that asyncio.run cancels on the way out.
        assert asyncio.run(source.get_frozen()).access_key == "AKIDEXAMPLE1"
        assert asyncio.run(source.refresh()).access_key == "AKIDEXAMPLE3"
        assert not source._flights


class TestBotocoreCredentials:
    def test_constructor_does_not_resolve(self, process: Process) -> None:
        """Construction neither runs the chain nor imports anything slow."""
        process.set(sleep=2.0, lifetime=3600, fail=False)
        started = time.perf_counter()
        BotocoreCredentials(profile="proc")
        assert time.perf_counter() - started < 0.05
        assert process.runs == 0

    async def test_credential_process_profile(self, process: Process) -> None:
        """A credential_process profile resolves, with its expiry, and is cached."""
        source = BotocoreCredentials(profile="proc")
        snapshot = await source.get_frozen()
        assert snapshot.access_key == "AKIDEXAMPLE1"
        assert snapshot.token == f"{TOKEN}1"
        assert snapshot.expiry is not None
        assert abs((snapshot.expiry - in_(3600)).total_seconds()) < 30
        assert await source.get_frozen() is snapshot
        assert process.runs == 1

    async def test_slow_refresh_never_stalls_the_loop(self, process: Process) -> None:
        """A 2 s botocore refresh runs in a thread: a 10 ms heartbeat stays on time."""
        # 5-minute credentials: inside botocore's mandatory window (10 min) and,
        # by these explicit windows, inside ours.
        source = BotocoreCredentials(
            profile="proc", advisory_window=400, mandatory_window=400
        )
        process.set(sleep=0.0, lifetime=300, fail=False)
        first = await source.get_frozen()
        runs = process.runs
        process.set(sleep=2.0, lifetime=300, fail=False)
        started = time.perf_counter()
        # botocore's own refresh, inside get_frozen_credentials, in the thread.
        snapshot, gap = await max_gap_while(source.get_frozen())
        assert time.perf_counter() - started >= 1.9
        assert snapshot.access_key != first.access_key
        assert process.runs == runs + 1
        assert gap < 0.05, f"event loop stalled for {gap * 1000:.0f} ms"

    async def test_concurrent_callers_run_the_process_once(
        self, process: Process
    ) -> None:
        """50 callers on expiring credentials make exactly one process run."""
        source = BotocoreCredentials(
            profile="proc", advisory_window=120, mandatory_window=90
        )
        process.set(sleep=0.0, lifetime=60, fail=False)
        await source.get_frozen()
        before = process.runs
        process.set(sleep=0.3, lifetime=60, fail=False)
        results = await asyncio.gather(*(source.get_frozen() for _ in range(50)))
        assert process.runs == before + 1
        assert len({r.access_key for r in results}) == 1

    async def test_concurrent_forced_refreshes_run_the_process_once(
        self, process: Process
    ) -> None:
        """50 concurrent refresh() calls re-resolve the chain once."""
        source = BotocoreCredentials(profile="proc")
        first = await source.get_frozen()
        process.set(sleep=0.3, lifetime=3600, fail=False)
        results = await asyncio.gather(*(source.refresh() for _ in range(50)))
        assert process.runs == 2
        assert {r.access_key for r in results} == {"AKIDEXAMPLE2"} != {first.access_key}

    async def test_process_failure_is_a_credentials_error(
        self, process: Process
    ) -> None:
        """A failing credential_process gives CredentialsError with botocore's cause."""
        process.set(sleep=0.0, lifetime=3600, fail=True)
        with pytest.raises(CredentialsError, match="refused the test") as info:
            await BotocoreCredentials(profile="proc").get_frozen()
        assert type(info.value.__cause__).__module__.startswith("botocore")

    async def test_unknown_profile(self, aws_env: Path) -> None:
        """A profile that does not exist is a CredentialsError naming it."""
        with pytest.raises(CredentialsError, match="nope") as info:
            await BotocoreCredentials(profile="nope").get_frozen()
        assert type(info.value.__cause__).__name__ == "ProfileNotFound"

    async def test_nothing_found_says_where_it_looked(self, aws_env: Path) -> None:
        """No credentials anywhere: the error lists every place it looked."""
        with pytest.raises(CredentialsError) as info:
            await DefaultCredentials().get_frozen()
        message = str(info.value)
        for place in (
            "AWS_ACCESS_KEY_ID",
            "profile 'default'",
            str(aws_env / "config"),
            str(aws_env / "credentials"),
            "credential_process",
            "container",
            "IMDS",
            "AWS_EC2_METADATA_DISABLED",
        ):
            assert place in message

    async def test_static_profile_in_credentials_file(self, aws_env: Path) -> None:
        """Long-term keys from the shared credentials file have no expiry."""
        (aws_env / "credentials").write_text(
            f"[default]\naws_access_key_id = AKIDEXAMPLE\n"
            f"aws_secret_access_key = {SECRET}\n"
        )
        snapshot = await BotocoreCredentials().get_frozen()
        assert snapshot == FrozenCredentials("AKIDEXAMPLE", SECRET)

    async def test_given_session(self, process: Process) -> None:
        """A caller's botocore session is used, and a forced refresh re-resolves."""
        import botocore.session

        source = BotocoreCredentials(botocore.session.Session(profile="proc"))
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE1"
        assert (await source.refresh()).access_key == "AKIDEXAMPLE2"

    def test_session_and_profile_are_exclusive(self) -> None:
        """Passing both a session and a profile is a ConfigurationError."""
        import botocore.session

        with pytest.raises(ConfigurationError, match="not both"):
            BotocoreCredentials(botocore.session.Session(), profile="proc")


class TestDefaultCredentials:
    async def test_environment_first(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Environment variables win and the source says it uses them."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        source = DefaultCredentials()
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE"
        assert "EnvironmentCredentials" in repr(source)

    async def test_partial_environment_is_an_error(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A key id without a secret is an error, as in botocore, not a fallback."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        with pytest.raises(CredentialsError, match="AWS_SECRET_ACCESS_KEY"):
            await DefaultCredentials().get_frozen()

    async def test_botocore_when_environment_is_empty(
        self, process: Process, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Without environment credentials the botocore chain (AWS_PROFILE) is used."""
        monkeypatch.setenv("AWS_PROFILE", "proc")
        source = DefaultCredentials()
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE1"
        assert "BotocoreCredentials" in repr(source)

    async def test_profile_skips_environment(
        self, process: Process, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A named profile goes to botocore even with environment credentials set."""
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLEENV")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        snapshot = await DefaultCredentials(profile="proc").get_frozen()
        assert snapshot.access_key == "AKIDEXAMPLE1"

    def test_environment_path_does_not_import_botocore(self) -> None:
        """With environment credentials, resolving never imports botocore."""
        code = (
            "import asyncio, sys, appsync_iam\n"
            "source = appsync_iam.DefaultCredentials()\n"
            "snapshot = asyncio.run(source.get_frozen())\n"
            "assert snapshot.access_key == 'AKIDEXAMPLE', snapshot\n"
            "assert asyncio.run(source.refresh()).access_key == 'AKIDEXAMPLE'\n"
            "assert 'botocore' not in sys.modules, 'botocore imported'\n"
        )
        env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE")
        env["AWS_SECRET_ACCESS_KEY"] = SECRET
        result = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr


class TestAsCredentialSource:
    async def test_none_is_the_default_chain(self) -> None:
        """None becomes DefaultCredentials with the profile passed along."""
        source = as_credential_source(None, profile="proc")
        assert isinstance(source, DefaultCredentials)
        assert "profile='proc'" in repr(source)

    async def test_frozen_credentials_become_static(self) -> None:
        """A FrozenCredentials becomes a StaticCredentials with the same snapshot."""
        frozen = creds(lifetime=3600)
        source = as_credential_source(frozen)
        assert isinstance(source, StaticCredentials)
        assert await source.get_frozen() == frozen

    def test_source_is_kept(self) -> None:
        """A credential source is returned as is."""
        source = StaticCredentials("AKIDEXAMPLE", SECRET)
        assert as_credential_source(source) is source

    async def test_async_callable_is_wrapped(self) -> None:
        """An async callable becomes CallableCredentials."""
        source = as_credential_source(Provider())
        assert isinstance(source, CallableCredentials)
        assert isinstance(source, CredentialSource)
        assert (await source.get_frozen()).access_key == "AKIDEXAMPLE1"

    @pytest.mark.parametrize("bad", ["AKIDEXAMPLE", 42, StaticCredentials])
    def test_anything_else_is_rejected(self, bad: object) -> None:
        """Other objects raise ConfigurationError listing what is accepted."""
        with pytest.raises(ConfigurationError, match="FrozenCredentials") as info:
            as_credential_source(bad)
        assert "async callable" in str(info.value)

    def test_botocore_credentials_object_gets_a_hint(self) -> None:
        """A botocore Credentials object is rejected with a hint at the right class."""
        from botocore.credentials import Credentials

        with pytest.raises(ConfigurationError, match="BotocoreCredentials") as info:
            as_credential_source(Credentials("AKIDEXAMPLE", SECRET, TOKEN))
        assert SECRET not in str(info.value)

    def test_credentials_and_profile_are_exclusive(self) -> None:
        """Credentials and a profile together are a ConfigurationError."""
        with pytest.raises(ConfigurationError, match="not both"):
            as_credential_source(creds(), profile="proc")


class TestNoSecretsInReprs:
    async def test_reprs_never_show_secret_or_token(
        self, process: Process, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No source nor FrozenCredentials shows a secret or token, before or after."""
        from functools import partial

        import botocore.session

        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)

        async def fetch(secret: str) -> FrozenCredentials:
            return FrozenCredentials("AKIDEXAMPLE", secret, TOKEN)

        sources: list[Any] = [
            StaticCredentials("AKIDEXAMPLE", SECRET, TOKEN),
            EnvironmentCredentials(),
            BotocoreCredentials(profile="proc"),
            BotocoreCredentials(botocore.session.Session(profile="proc")),
            CallableCredentials(partial(fetch, SECRET)),
            DefaultCredentials(),
        ]
        texts = [repr(creds(lifetime=60)), str(creds())]
        for source in sources:
            texts.append(repr(source))
            texts.append(repr(await source.get_frozen()))
            texts.append(repr(source))
        for text in texts:
            assert SECRET not in text
            assert TOKEN not in text
        assert "AKIDEXAMPLE" in repr(sources[0])
