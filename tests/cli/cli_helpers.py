"""Helpers for the CLI, demo, examples and README tests: subprocesses and env."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from appsync_iam.emulator import AppSyncEmulator

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
SUBPROCESS_TIMEOUT = 45.0


@dataclass(frozen=True)
class Finished:
    """A finished subprocess: exit code and decoded output."""

    returncode: int
    stdout: str
    stderr: str


def clean_env(tmp_path: Path) -> dict[str, str]:
    """os.environ without any AWS or AppSync setting, and no ~/.aws to read."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "APPSYNC_"))
    }
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-aws-credentials")
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def emulator_env(emulator: AppSyncEmulator, tmp_path: Path) -> dict[str, str]:
    """What a user exports to point the examples at the emulator."""
    env = clean_env(tmp_path)
    env["APPSYNC_URL"] = emulator.url
    env["APPSYNC_EVENTS_URL"] = emulator.events_url
    env["APPSYNC_REGION"] = emulator.region
    env["AWS_ACCESS_KEY_ID"] = emulator.credentials.access_key
    env["AWS_SECRET_ACCESS_KEY"] = emulator.credentials.secret_key
    return env


async def run_python(
    *args: str,
    env: dict[str, str],
    cwd: Path = REPO,
    timeout: float = SUBPROCESS_TIMEOUT,
) -> Finished:
    """Run ``python *args`` without blocking the loop the emulator serves on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(f"python {' '.join(args)} ran over {timeout} s") from None
    return Finished(
        process.returncode if process.returncode is not None else -1,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )
