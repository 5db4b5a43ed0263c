"""Every script in examples/ runs against the emulator, configured by env only."""

from __future__ import annotations

import json
from pathlib import Path

from appsync_iam.emulator import AppSyncEmulator

from .cli_helpers import EXAMPLES, clean_env, emulator_env, run_python


def posted(emulator: AppSyncEmulator) -> list[str]:
    return [
        op.arguments["content"] for op in emulator.executed if op.field == "postMessage"
    ]


class TestExamples:
    async def test_quickstart(
        self, appsync_emulator: AppSyncEmulator, tmp_path: Path
    ) -> None:
        """quickstart.py posts unicode, lists it back, and shows a GraphQL error."""
        done = await run_python(
            str(EXAMPLES / "quickstart.py"),
            env=emulator_env(appsync_emulator, tmp_path),
        )
        assert done.returncode == 0, done.stderr
        assert "messages in room: 1" in done.stdout
        assert "GraphQL error: Validation error" in done.stdout
        assert posted(appsync_emulator) == ["héllo wörld"]

    async def test_lambda_handler(
        self, appsync_emulator: AppSyncEmulator, tmp_path: Path
    ) -> None:
        """Both handlers work across two warm invocations on one module-level client."""
        done = await run_python(
            str(EXAMPLES / "lambda_handler.py"),
            env=emulator_env(appsync_emulator, tmp_path),
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("async_handler: 3 messages") == 2
        assert sorted(posted(appsync_emulator)) == sorted(
            [f"sync {n}" for n in range(2)]
            + [f"async {n}.{i}" for n in range(2) for i in range(3)]
        )
        assert "Warning" not in done.stderr

    async def test_batch_job(
        self, appsync_emulator: AppSyncEmulator, tmp_path: Path
    ) -> None:
        """batch_job.py posts the good rows and writes the bad ones to a file."""
        env = emulator_env(appsync_emulator, tmp_path)
        env["BATCH_ROWS"] = "250"
        env["BATCH_FAILURES"] = str(tmp_path / "failed.jsonl")
        done = await run_python(str(EXAMPLES / "batch_job.py"), env=env)
        assert done.returncode == 1  # some rows failed, on purpose
        assert "248 ok, 2 failed" in done.stdout
        failed = (tmp_path / "failed.jsonl").read_text().splitlines()
        assert [json.loads(line) for line in failed] == [
            {"roomId": "room-9", "content": None},
            {"roomId": "room-9", "content": None},
        ]
        assert len(posted(appsync_emulator)) == 248

        # The failure file is valid input for the same script.
        again = await run_python(
            str(EXAMPLES / "batch_job.py"), str(tmp_path / "failed.jsonl"), env=env
        )
        assert "0 ok, 2 failed" in again.stdout
        assert (tmp_path / "failed.failed.jsonl").read_text().splitlines() == failed

    async def test_subscribe(
        self, appsync_emulator: AppSyncEmulator, tmp_path: Path
    ) -> None:
        """subscribe.py receives the three messages it posts, reporting its states."""
        done = await run_python(
            str(EXAMPLES / "subscribe.py"), env=emulator_env(appsync_emulator, tmp_path)
        )
        assert done.returncode == 0, done.stderr
        events = [
            line for line in done.stdout.splitlines() if line.startswith("event:")
        ]
        assert events == ["event: hi 0", "event: hi 1", "event: hi 2"]
        assert "state: connected" in done.stdout

    async def test_gql_client(
        self, appsync_emulator: AppSyncEmulator, tmp_path: Path
    ) -> None:
        """gql.Client + AppSyncIAMTransport fetches the schema and runs the DSL."""
        done = await run_python(
            str(EXAMPLES / "gql_client.py"),
            env=emulator_env(appsync_emulator, tmp_path),
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "posted: from the DSL",
            "room gql: ['from the DSL']",
            "fetched: from the DSL",
        ]

    async def test_pytest_example(self, tmp_path: Path) -> None:
        """examples/test_with_emulator.py passes under pytest with its plugin line."""
        done = await run_python(
            "-m",
            "pytest",
            str(EXAMPLES / "test_with_emulator.py"),
            "-q",
            "-p",
            "no:cacheprovider",
            env=clean_env(tmp_path),
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "4 passed" in done.stdout
