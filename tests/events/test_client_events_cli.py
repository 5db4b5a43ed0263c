"""``appsync-iam events publish|subscribe`` in-process against the emulator
(credentials from the environment, as a user's would be), plus one run of
the console script in a subprocess."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from appsync_iam.cli import get_parser, main
from appsync_iam.emulator import AppSyncEmulator
from tests.cli.cli_helpers import EXAMPLES, clean_env, run_python

from .ev_emulator_helpers import SDL


async def cli(*argv: str) -> int:
    return await main(get_parser().parse_args(list(argv)))


@pytest.fixture
async def emulator(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[AppSyncEmulator]:
    for name in list(os.environ):
        if name.startswith(("AWS_", "APPSYNC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-creds"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    async with AppSyncEmulator(SDL, event_namespaces=("default",), seed=1) as emu:
        monkeypatch.setenv("APPSYNC_EVENTS_URL", emu.events_url)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", emu.credentials.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", emu.credentials.secret_key)
        yield emu


async def test_publish_arguments(
    emulator: AppSyncEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code = await cli("events", "publish", "/default/a", '{"x": 1}', "42", '"s"')
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert [e["index"] for e in out["successful"]] == [0, 1, 2] and out["failed"] == []
    assert [p.value for p in emulator.published] == [{"x": 1}, 42, "s"]


async def test_publish_file_with_failures(
    emulator: AppSyncEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps({"n": i}) + "\n\n" for i in range(12)))
    emulator.faults.fail_event_indices = {0}
    code = await cli("events", "publish", "default/a", "--file", str(source))
    captured = capsys.readouterr()
    assert code == 1
    out = json.loads(captured.out)
    assert [e["index"] for e in out["failed"]] == [0, 5, 10]
    assert out["failed"][0]["code"] == 400
    assert len(out["successful"]) == 9
    assert "3 of 12 events failed" in captured.err
    assert len(emulator.published) == 9


class _TerminalErr(io.StringIO):
    """A stderr that says it is a terminal, so the progress bar shows."""

    def isatty(self) -> bool:
        return True


async def test_publish_file_shows_the_batch_progress_bar(
    emulator: AppSyncEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(i) + "\n" for i in range(1200)))
    emulator.faults.fail_event_indices = {4}  # the last of every batch of 5
    terminal = _TerminalErr()
    monkeypatch.setattr(sys, "stderr", terminal)
    code = await cli("events", "publish", "/default/a", "--file", str(source))
    assert code == 1
    bar = terminal.getvalue()
    assert "1200/1200" in bar and "failed=240" in bar
    assert "event/s" in bar or "s/event" in bar  # counted in events, not requests
    assert "240 of 1200 events failed" in bar
    out = json.loads(capsys.readouterr().out)
    assert len(out["successful"]) == 960 and len(out["failed"]) == 240
    assert len(emulator.published) == 960
    monkeypatch.setattr(sys, "stderr", terminal := _TerminalErr())
    assert await cli("events", "publish", "/default/a", "-f", str(source),
                     "--no-progress") == 1  # fmt: skip
    assert "1200/1200" not in terminal.getvalue()


async def test_publish_over_websocket(
    emulator: AppSyncEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("events", "publish", "/default/a", "1", "--via", "websocket") == 0
    assert [p.via for p in emulator.published] == ["ws"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/default/*", "1"], "wildcard"),
        (["/default/a"], "no events"),
        (["/default/a", "not json"], "event 0 is not JSON"),
        (["/default/a", "1", "--file", "x.jsonl"], "not both"),
        (["/default/a", "--file", "missing.jsonl"], "cannot read --file"),
    ],
)
async def test_publish_usage_errors(
    emulator: AppSyncEmulator,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    assert await cli("events", "publish", *argv) == 2
    assert message in capsys.readouterr().err
    assert emulator.published == []


async def test_subscribe_count(
    emulator: AppSyncEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    run = asyncio.create_task(cli("events", "subscribe", "/default/*", "--count", "2"))
    for _ in range(200):
        if emulator.events.active_subscriptions:
            break
        await asyncio.sleep(0.01)
    assert await cli("events", "publish", "/default/x/y", '{"a": "ü"}', "2", "3") == 0
    assert await asyncio.wait_for(run, 10) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [
        json.loads(line) for line in lines if not line.startswith('{"successful')
    ] == [
        {"a": "ü"},
        2,
    ]


async def test_no_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("APPSYNC_EVENTS_URL", raising=False)
    assert await cli("events", "subscribe", "/default/*") == 2
    assert "APPSYNC_EVENTS_URL" in capsys.readouterr().err


async def test_console_script(tmp_path: Path) -> None:
    async with AppSyncEmulator(SDL) as emulator:
        env = clean_env(tmp_path)
        env["AWS_ACCESS_KEY_ID"] = emulator.credentials.access_key
        env["AWS_SECRET_ACCESS_KEY"] = emulator.credentials.secret_key
        done = await run_python(
            "-m",
            "appsync_iam",
            "events",
            "publish",
            "/default/a",
            "[1, 2]",
            "--url",
            emulator.events_url,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["successful"][0]["index"] == 0
        assert [p.value for p in emulator.published] == [[1, 2]]


async def test_example_script(tmp_path: Path) -> None:
    """examples/events.py runs against the emulator, configured by env only."""
    async with AppSyncEmulator(SDL) as emulator:
        env = clean_env(tmp_path)
        env["APPSYNC_EVENTS_URL"] = emulator.events_url
        env["AWS_ACCESS_KEY_ID"] = emulator.credentials.access_key
        env["AWS_SECRET_ACCESS_KEY"] = emulator.credentials.secret_key
        done = await run_python(str(EXAMPLES / "events.py"), env=env)
    assert done.returncode == 0, done.stderr
    assert "HTTP: 7 published, 0 failed" in done.stdout
    assert "WebSocket: 1 published" in done.stdout
    assert done.stdout.count("received:") == 8
    assert "received: via websocket" in done.stdout
    assert "[connected]" in done.stdout
    assert sorted(p.via for p in emulator.published) == ["http"] * 7 + ["ws"]
