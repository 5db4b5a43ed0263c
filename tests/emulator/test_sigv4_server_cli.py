"""SigV4Server through the pytest fixtures and ``appsync-iam emulator --sigv4``."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from sigv4_helpers import as_json, botocore_signed, send

from appsync_iam import FrozenCredentials
from appsync_iam.cli import get_parser
from appsync_iam.emulator import DEFAULT_SECRET_KEY, SigV4Server

ROOT = Path(__file__).resolve().parents[2]


async def test_async_fixture(sigv4_server: SigV4Server) -> None:
    url, headers = botocore_signed(
        "GET", sigv4_server.url + "/any/path", sigv4_server.credentials,
        service="es", region=sigv4_server.region,
    )  # fmt: skip
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
        status, _, answer = await send(s, "GET", url, headers)
    assert status == 200 and as_json(answer)["service"] == "es"
    assert [r.accepted for r in sigv4_server.requests] == [True]


class TestOptions:
    @pytest.fixture
    def sigv4_server_options(self) -> dict[str, str]:
        return {"service": "s3", "region": "ap-northeast-1"}

    def test_thread_fixture_with_options(
        self, sigv4_server_in_thread: SigV4Server
    ) -> None:
        server = sigv4_server_in_thread
        assert (server.service, server.region) == ("s3", "ap-northeast-1")
        url, headers = botocore_signed(
            "GET", server.url + "/bucket/key", server.credentials, service="s3",
            region=server.region,
        )  # fmt: skip
        with urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=10
        ) as r:
            assert json.load(r)["path"] == "/bucket/key"


def test_parser() -> None:
    args = get_parser().parse_args(["emulator", "--sigv4", "--service", "lambda"])
    assert (args.sigv4, args.schema, args.service, args.upstream) == (
        True,
        None,
        "lambda",
        None,
    )
    with pytest.raises(SystemExit):
        get_parser().parse_args(["emulator", "--sigv4", "--schema", "chat"])


async def test_command_serves_then_stops() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "appsync_iam", "emulator", "--sigv4", "--port", "0",
        "--service", "execute-api",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    printed: dict[str, str] = {}
    try:
        assert process.stdout is not None
        while True:
            line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
            assert line, "the command exited before serving"
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                printed[name] = value
            if line.startswith("Press Ctrl-C"):
                break
        creds = FrozenCredentials(
            printed["AWS_ACCESS_KEY_ID"], printed["AWS_SECRET_ACCESS_KEY"]
        )
        url, headers = botocore_signed(
            "GET", printed["SIGV4_URL"] + "/prod/x", creds, service="execute-api",
            region=printed["AWS_REGION"],
        )  # fmt: skip
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
            assert (await send(s, "GET", url, headers))[0] == 200
            assert (await send(s, "GET", printed["SIGV4_URL"] + "/prod/x", {}))[
                0
            ] == 403
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0
        assert "Traceback" not in err.decode()
        assert DEFAULT_SECRET_KEY not in err.decode()
    finally:
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), 10)
