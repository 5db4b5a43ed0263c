"""``appsync-iam emulator``: the parser, and the real command in a subprocess."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from emulator_helpers import post, sign

from appsync_iam import FrozenCredentials
from appsync_iam.cli import get_parser
from appsync_iam.emulator import DEFAULT_SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
QUERY = b'{"query":"query { listRooms { items { id } } }"}'


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "appsync_iam", *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )  # fmt: skip


async def _finish(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def served() -> AsyncIterator[tuple[asyncio.subprocess.Process, dict[str, str]]]:
    """The emulator command on a free port, with the values it printed."""
    process = await _spawn("emulator", "--schema", "chat", "--port", "0")
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
        yield process, printed
    finally:
        if process.returncode is None:
            process.kill()
            await asyncio.wait_for(process.wait(), 10)


class TestParser:
    def test_emulator_defaults(self) -> None:
        """emulator needs only --schema; host, port and region have defaults."""
        args = get_parser().parse_args(["emulator", "--schema", "chat"])
        assert (args.command, args.schema, args.host, args.port, args.region) == (
            "emulator",
            "chat",
            "127.0.0.1",
            8000,
            "us-east-1",
        )
        assert callable(args.command_handler)

    @pytest.mark.parametrize(
        "argv",
        [[], ["emulator"], ["emulator", "--schema", "chat", "--port", "70000"]],
        ids=["no-command", "no-schema", "bad-port"],
    )
    def test_usage_errors_exit_2(
        self, argv: list[str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A missing command, a missing --schema or a bad port is a usage error."""
        with pytest.raises(SystemExit) as caught:
            get_parser().parse_args(argv)
        assert caught.value.code == 2
        assert "appsync-iam" in capsys.readouterr().err


class TestServing:
    async def test_serves_signed_requests_then_stops_cleanly(
        self, served: tuple[asyncio.subprocess.Process, dict[str, str]]
    ) -> None:
        """The printed URL and credentials work for a botocore-signed request; an
        unsigned one gets 401; SIGTERM stops the command with exit code 0."""
        process, printed = served
        url = printed["APPSYNC_URL"]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/graphql")
        assert printed["AWS_REGION"] == "us-east-1"
        creds = FrozenCredentials(
            printed["AWS_ACCESS_KEY_ID"], printed["AWS_SECRET_ACCESS_KEY"]
        )
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            answer = await post(session, url, QUERY, sign(url, QUERY, creds))
            assert answer.status == 200, answer
            assert answer.json == {"data": {"listRooms": {"items": []}}}
            unsigned = await post(session, url, QUERY, {})
            assert unsigned.status == 401
        process.send_signal(signal.SIGTERM)
        code, _, err = await _finish(process)
        assert code == 0
        assert "Traceback" not in err
        assert "emulator stopped" in err
        assert DEFAULT_SECRET_KEY not in err

    async def test_sigint_stops_cleanly(
        self, served: tuple[asyncio.subprocess.Process, dict[str, str]]
    ) -> None:
        """Ctrl-C (SIGINT) stops the command with exit code 0 and no traceback."""
        process, _ = served
        process.send_signal(signal.SIGINT)
        code, _, err = await _finish(process)
        assert (code, "Traceback" in err) == (0, False)


class TestErrors:
    async def test_unknown_schema(self) -> None:
        """An unknown schema: one error line naming the samples, exit 2."""
        code, out, err = await _finish(await _spawn("emulator", "--schema", "nope"))
        assert code == 2
        assert out == ""
        assert err.startswith("appsync-iam: error: ")
        assert "chat" in err
        assert len(err.strip().splitlines()) == 1

    async def test_invalid_sdl(self, tmp_path: Path) -> None:
        """An SDL file that does not build: one error line, exit 2."""
        schema = tmp_path / "bad.graphql"
        schema.write_text("type Query { x: Nope }")
        code, _, err = await _finish(await _spawn("emulator", "--schema", str(schema)))
        assert code == 2
        assert err.startswith("appsync-iam: error: invalid schema")
        assert "Traceback" not in err

    async def test_port_in_use(self) -> None:
        """A port that is taken: one error line, exit 1."""
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = str(taken.getsockname()[1])
            process = await _spawn("emulator", "--schema", "chat", "--port", port)
            code, _, err = await _finish(process)
        assert code == 1
        assert err.strip().splitlines()[-1] == (
            f"appsync-iam: error: cannot listen on 127.0.0.1:{port}: "
            "address already in use"
        )
        assert "Traceback" not in err

    async def test_debug_shows_the_traceback(self) -> None:
        """--debug prints the traceback before the error line."""
        process = await _spawn("--debug", "emulator", "--schema", "nope")
        code, _, err = await _finish(process)
        assert code == 2
        assert "Traceback" in err
        assert err.strip().splitlines()[-1].startswith("appsync-iam: error: ")
