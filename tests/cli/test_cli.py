"""``appsync-iam`` query, subscribe, batch, schema: in-process, against the emulator.

Each test calls ``await main(get_parser().parse_args([...]))`` (gql's
``test_cli.py`` pattern); credentials come from the environment, as a user's
would, and are the emulator's test keys.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from appsync_iam import AppSyncClient, ConnectionEvent, ConnectionState
from appsync_iam._cli_commands import (
    UsageError,
    _GapReporter,
    parse_variables,
    resolve_region,
)
from appsync_iam.cli import get_parser, main
from appsync_iam.emulator import AppSyncEmulator

POST = (
    "mutation Post($roomId: ID!, $content: String!) "
    "{ postMessage(roomId: $roomId, content: $content) { roomId content } }"
)
SECRET_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE-session-token-abcdefghijklmnop"


async def cli(*argv: str) -> int:
    """Parse ``argv`` like the console script does and run it."""
    return await main(get_parser().parse_args(list(argv)))


@pytest.fixture
def aws_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[pytest.MonkeyPatch]:
    """A clean environment: no AWS or AppSync variable, no ~/.aws files."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "APPSYNC_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-creds"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    yield monkeypatch


@pytest.fixture
def emulator_env(
    aws_env: pytest.MonkeyPatch, appsync_emulator: AppSyncEmulator
) -> AppSyncEmulator:
    """APPSYNC_URL and the emulator's keys exported, as its banner says."""
    aws_env.setenv("APPSYNC_URL", appsync_emulator.url)
    aws_env.setenv("AWS_ACCESS_KEY_ID", appsync_emulator.credentials.access_key)
    aws_env.setenv("AWS_SECRET_ACCESS_KEY", appsync_emulator.credentials.secret_key)
    return appsync_emulator


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("appsync-iam: error: ")
    assert "Traceback" not in err
    return lines[0]


class TestParsing:
    def test_var_values_are_json_when_they_parse(self) -> None:
        """-V values parse as JSON when they can and stay strings otherwise."""
        variables = parse_variables(
            '{"a": 1, "b": "x"}',
            ["b=2", "c=true", "d=null", "e=[1, 2]", "f=007", "g=hello world", "h="],
        )
        assert variables == {
            "a": 1,
            "b": 2,
            "c": True,
            "d": None,
            "e": [1, 2],
            "f": "007",
            "g": "hello world",
            "h": "",
        }

    @pytest.mark.parametrize(
        ("variables_json", "assignments"),
        [("[1]", []), ("{bad", []), (None, ["novalue"]), (None, ["=1"])],
    )
    def test_bad_variables_are_usage_errors(
        self, variables_json: str | None, assignments: list[str]
    ) -> None:
        """A non-object --variables or a -V without NAME= is a usage error."""
        with pytest.raises(UsageError):
            parse_variables(variables_json, assignments)

    def test_debug_is_accepted_before_and_after_the_command(self) -> None:
        """--debug works in either position (the subcommand does not reset it)."""
        parser = get_parser()
        assert parser.parse_args(["--debug", "query", "q"]).debug is True
        assert parser.parse_args(["query", "q", "--debug"]).debug is True
        assert parser.parse_args(["query", "q"]).debug is False

    def test_standard_url_region_beats_the_environment(
        self, aws_env: pytest.MonkeyPatch
    ) -> None:
        """AWS_REGION applies to custom domains, not to a URL naming its region."""
        aws_env.setenv("AWS_DEFAULT_REGION", "us-west-2")
        standard = "https://abc.appsync-api.eu-west-1.amazonaws.com/graphql"
        assert resolve_region(standard, None) is None
        assert resolve_region("https://api.example.com/graphql", None) == "us-west-2"
        aws_env.setenv("AWS_REGION", "ap-south-1")
        assert resolve_region("https://api.example.com/graphql", None) == "ap-south-1"
        assert resolve_region(standard, "eu-west-1") == "eu-west-1"


class TestQuery:
    async def test_query_from_argument_prints_data(
        self, emulator_env: AppSyncEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A query from the argument prints its data as indented JSON on stdout."""
        code = await cli(
            "query", "query G($id: ID!) { getRoom(id: $id) { id } }", "-V", "id=r1"
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        assert json.loads(out) == {"getRoom": None}
        assert out.startswith("{\n  ")
        assert emulator_env.executed[-1].arguments == {"id": "r1"}

    async def test_mutation_from_file_with_variables(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """-f FILE with --variables and -V runs the mutation with unicode intact."""
        document = tmp_path / "post.graphql"
        document.write_text(POST, encoding="utf-8")
        code = await cli(
            "query",
            "-f",
            str(document),
            "--variables",
            '{"roomId": "r1", "content": "placeholder"}',
            "-V",
            "content=héllo 👋",
            "--compact",
        )
        out, err = capsys.readouterr()
        assert code == 0, err
        assert out == '{"postMessage":{"roomId":"r1","content":"héllo 👋"}}\n'

    async def test_query_from_stdin_with_operation_name(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A document on stdin runs the operation chosen by --operation-name."""
        document = (
            "query A { listRooms { items { id } } }\n"
            'query B { getRoom(id: "x") { id } }\n'
        )
        monkeypatch.setattr(sys, "stdin", io.StringIO(document))
        code = await cli("query", "--operation-name", "B")
        out, err = capsys.readouterr()
        assert code == 0, err
        assert json.loads(out) == {"getRoom": None}
        assert emulator_env.executed[-1].field == "getRoom"

    async def test_session_token_and_custom_region(
        self,
        aws_env: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Temporary credentials sign for the region of AWS_REGION or --region."""
        async with AppSyncEmulator("chat", region="eu-west-2") as emulator:
            emulator.add_principal("ASIATEMP", "temp-secret", token=SECRET_TOKEN)
            aws_env.setenv("APPSYNC_URL", emulator.url)
            aws_env.setenv("AWS_ACCESS_KEY_ID", "ASIATEMP")
            aws_env.setenv("AWS_SECRET_ACCESS_KEY", "temp-secret")
            aws_env.setenv("AWS_SESSION_TOKEN", SECRET_TOKEN)
            aws_env.setenv("AWS_REGION", "eu-west-2")
            assert await cli("query", "query { listRooms { items { id } } }") == 0
            assert emulator.executed[-1].access_key == "ASIATEMP"

            code = await cli(
                "query", "query { listRooms { items { id } } }", "--region", "us-east-1"
            )
        out, err = capsys.readouterr()
        assert code == 1
        line = one_error_line(err)
        assert "HTTP 403" in line
        assert SECRET_TOKEN not in out + err
        assert "temp-secret" not in out + err

    async def test_profile_from_the_aws_config_files(
        self,
        aws_env: pytest.MonkeyPatch,
        appsync_emulator: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """--profile and AWS_PROFILE read keys from the shared credentials file."""
        creds = appsync_emulator.credentials
        (tmp_path / "no-creds").write_text(
            f"[ci]\naws_access_key_id = {creds.access_key}\n"
            f"aws_secret_access_key = {creds.secret_key}\n"
        )
        aws_env.setenv("APPSYNC_URL", appsync_emulator.url)
        assert (
            await cli("query", "{ listRooms { items { id } } }", "--profile", "ci") == 0
        )
        aws_env.setenv("AWS_PROFILE", "ci")
        assert await cli("query", "{ listRooms { items { id } } }") == 0
        out, err = capsys.readouterr()
        assert err == ""
        assert len(appsync_emulator.executed) == 2

    async def test_graphql_errors_exit_1_with_one_line(
        self, emulator_env: AppSyncEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """GraphQL errors are one stderr line and exit 1."""
        code = await cli("query", "query { listRooms { nope } }")
        out, err = capsys.readouterr()
        assert code == 1
        assert out == ""
        assert "GraphQL error: Validation error" in one_error_line(err)

    async def test_wrong_secret_exits_1_without_secrets(
        self,
        emulator_env: AppSyncEmulator,
        aws_env: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A rejected signature is AppSync's status and errorType, nothing secret."""
        aws_env.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-key-1234")
        aws_env.setenv("AWS_SESSION_TOKEN", SECRET_TOKEN)
        emulator_env.add_principal(
            emulator_env.credentials.access_key,
            emulator_env.credentials.secret_key,
            token=SECRET_TOKEN,
        )
        code = await cli("query", "{ listRooms { items { id } } }")
        out, err = capsys.readouterr()
        assert code == 1
        line = one_error_line(err)
        assert "HTTP 403 InvalidSignatureException" in line
        for secret in ("not-the-secret-key-1234", SECRET_TOKEN):
            assert secret not in out + err

    async def test_debug_shows_a_redacted_traceback(
        self,
        emulator_env: AppSyncEmulator,
        aws_env: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """--debug adds the traceback and logs, still without a secret."""
        aws_env.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret-key-1234")
        aws_env.setenv("AWS_SESSION_TOKEN", SECRET_TOKEN)
        code = await cli("--debug", "query", "{ listRooms { items { id } } }")
        out, err = capsys.readouterr()
        assert code == 1
        assert "Traceback" in err
        assert err.rstrip().splitlines()[-1].startswith("appsync-iam: error: HTTP 403")
        for secret in ("not-the-secret-key-1234", SECRET_TOKEN):
            assert secret not in out + err

    @pytest.mark.parametrize(
        ("argv", "expected"),
        [
            (["query", "{ listRooms { items { id } } }"], "APPSYNC_URL"),
            (
                ["query", "{ a }", "--url", "https://api.example.com/graphql"],
                "custom domain",
            ),
            (["query", "query {", "--url", "http://127.0.0.1:9/graphql"], "not valid"),
            (["query", "--url", "http://127.0.0.1:9/graphql"], "no GraphQL document"),
            (["query", "-f", "missing.graphql"], "cannot read -f"),
            (["query", "{ a }", "-f", "missing.graphql"], "not both"),
            (["query", "{ a }", "-V", "oops", "--url", "http://127.0.0.1:9/graphql"],
             "NAME=VALUE"),
        ],
    )  # fmt: skip
    async def test_usage_and_configuration_errors_exit_2(
        self,
        aws_env: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        argv: list[str],
        expected: str,
    ) -> None:
        """Missing URL, custom domain without region, bad input: one line, exit 2."""
        monkeypatch.setattr(sys, "stdin", _Terminal())
        code = await cli(*argv)
        _, err = capsys.readouterr()
        assert code == 2
        assert expected in one_error_line(err)

    async def test_no_credentials_exit_2(
        self,
        aws_env: pytest.MonkeyPatch,
        appsync_emulator: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """With no credentials anywhere the command says so and exits 2."""
        aws_env.setenv("APPSYNC_URL", appsync_emulator.url)
        code = await cli("query", "{ listRooms { items { id } } }")
        _, err = capsys.readouterr()
        assert code == 2
        one_error_line(err)
        assert appsync_emulator.executed == []


class _Terminal(io.StringIO):
    """A stdin that says it is a terminal (nothing piped in)."""

    def isatty(self) -> bool:
        return True


class _TerminalErr(io.StringIO):
    """A stderr that says it is a terminal, so the progress bar shows."""

    def isatty(self) -> bool:
        return True


class TestBatch:
    async def test_results_in_order_and_failures_copied_unchanged(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """Each line gets a result in order; bad lines go verbatim to --failures."""
        rows = tmp_path / "rows.jsonl"
        lines = [
            '{"roomId": "r1", "content": "one"}',
            "",
            '{"roomId": "r1", "content": null}',
            "not json",
            "[1, 2]",
            '{"roomId": "r2", "content": "ünïcode"}',
        ]
        rows.write_text("\n".join(lines) + "\n", encoding="utf-8")
        failures = tmp_path / "failures.jsonl"
        code = await cli(
            "batch", POST, "-i", str(rows), "--failures", str(failures),
            "--concurrency", "2",
        )  # fmt: skip
        out, err = capsys.readouterr()
        assert code == 1
        results = [json.loads(line) for line in out.splitlines()]
        assert [r["line"] for r in results] == [1, 3, 4, 5, 6]
        assert results[0]["data"] == {"postMessage": {"roomId": "r1", "content": "one"}}
        assert results[1]["error"]["type"] == "GraphQLResponseError"
        assert results[2]["error"]["type"] == "InputError"
        assert "not JSON" in results[2]["error"]["message"]
        assert "not an object" in results[3]["error"]["message"]
        assert results[4]["data"]["postMessage"]["content"] == "ünïcode"
        assert failures.read_text(encoding="utf-8").splitlines() == [
            lines[2],
            lines[3],
            lines[4],
        ]
        summary = err.strip().splitlines()[-1]
        assert summary.startswith("appsync-iam: batch: 5 lines, 2 ok, 3 failed")
        assert str(failures) in summary
        assert len(emulator_env.executed) == 2

    async def test_failure_file_feeds_back_in(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """Lines that failed on 5xx answers succeed when the default file is rerun."""
        rows = tmp_path / "rows.jsonl"
        rows.write_text(
            "".join(
                json.dumps({"roomId": "r", "content": f"m{n}"}) + "\n"
                for n in range(40)
            )
        )
        emulator_env.faults.seed(3)
        emulator_env.faults.error_5xx_rate = 0.3  # a mutation is not retried
        assert await cli("batch", POST, "-i", str(rows), "--unordered") == 1
        failed_path = tmp_path / "rows.failed.jsonl"
        failed = failed_path.read_text().splitlines()
        assert 0 < len(failed) < 40

        emulator_env.faults.error_5xx_rate = 0.0
        assert await cli("batch", POST, "-i", str(failed_path)) == 0
        out, err = capsys.readouterr()
        assert not (tmp_path / "rows.failed.failed.jsonl").exists()
        contents = sorted(op.arguments["content"] for op in emulator_env.executed)
        assert contents == sorted(f"m{n}" for n in range(40))  # each exactly once
        assert err.strip().splitlines()[-1].endswith("/s")

    async def test_stdin_in_stdout_out_and_progress_on_a_terminal(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        """Rows piped on stdin work, and a terminal stderr gets a tqdm bar."""
        monkeypatch.setattr(
            sys,
            "stdin",
            io.StringIO('{"roomId": "r", "content": "a"}\n{"roomId": "r"}\n'),
        )
        terminal = _TerminalErr()
        monkeypatch.setattr(sys, "stderr", terminal)
        code = await cli("batch", POST, "-o", str(tmp_path / "out.jsonl"))
        assert code == 1
        written = (tmp_path / "out.jsonl").read_text().splitlines()
        assert [json.loads(line)["line"] for line in written] == [1, 2]
        assert "2/? " in terminal.getvalue() or "2req" in terminal.getvalue()
        assert (tmp_path / "batch.failed.jsonl").read_text() == '{"roomId": "r"}\n'
        assert capsys.readouterr().out == ""

    async def test_no_progress_bar_when_not_a_terminal(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """Captured stderr gets the summary only, no bar."""
        rows = tmp_path / "rows.jsonl"
        rows.write_text('{"roomId": "r", "content": "a"}\n')
        assert await cli("batch", POST, "-i", str(rows)) == 0
        _, err = capsys.readouterr()
        assert err.count("\n") == 1
        assert "1 ok, 0 failed" in err
        assert not (tmp_path / "rows.failed.jsonl").exists()

    @pytest.mark.parametrize(
        "extra",
        [["--failures", "rows.jsonl"], ["-o", "rows.jsonl"], ["-f", "-", "-i", "-"]],
    )
    async def test_refuses_to_overwrite_its_input(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        extra: list[str],
    ) -> None:
        """Failures or results aimed at the input file, or two stdins, exit 2."""
        rows = tmp_path / "rows.jsonl"
        rows.write_text('{"roomId": "r"}\n')
        argv = (
            ["batch", *extra]
            if "-f" in extra
            else ["batch", POST, "-i", "rows.jsonl", *extra]
        )
        assert await cli(*argv) == 2
        one_error_line(capsys.readouterr().err)
        assert rows.read_text() == '{"roomId": "r"}\n'
        assert emulator_env.executed == []

    async def test_batch_query_syntax_error_exits_2(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """A broken document is reported before any line is read or sent."""
        rows = tmp_path / "rows.jsonl"
        rows.write_text("{}\n")
        assert await cli("batch", "mutation {", "-i", str(rows)) == 2
        _, err = capsys.readouterr()
        assert "not valid GraphQL" in one_error_line(err)
        assert emulator_env.executed == []


class TestSchema:
    async def test_prints_sdl(
        self, emulator_env: AppSyncEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Introspection comes back as SDL with the API's types and fields."""
        assert await cli("schema") == 0
        out, _ = capsys.readouterr()
        assert "type Mutation {" in out
        assert "postMessage(" in out
        assert "onMessagePosted(roomId: ID): Message" in out

    async def test_writes_a_file(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """-o FILE writes the SDL there, which graphql-core builds again."""
        from graphql import build_schema

        target = tmp_path / "schema.graphql"
        assert await cli("schema", "-o", str(target)) == 0
        schema = build_schema(target.read_text())
        assert schema.query_type is not None
        assert "getRoom" in schema.query_type.fields
        out, err = capsys.readouterr()
        assert out == ""
        assert "schema written to" in err


class TestSubscribe:
    async def test_prints_events_until_count(
        self, emulator_env: AppSyncEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Events arrive as JSON lines and --count ends the command with exit 0."""
        task = asyncio.ensure_future(
            cli(
                "subscribe",
                "subscription S($r: ID) { onMessagePosted(roomId: $r) { content } }",
                "-V",
                "r=r1",
                "--count",
                "2",
            )  # fmt: skip
        )
        err = await _wait_for_stderr(capsys, "subscribed", task)
        async with _client(emulator_env) as client:
            for text in ("other room", "first", "second"):
                room = "r2" if text == "other room" else "r1"
                await client.execute_async(POST, {"roomId": room, "content": text})
        assert await asyncio.wait_for(task, 15) == 0
        out, rest = capsys.readouterr()
        assert [json.loads(line) for line in out.splitlines()] == [
            {"onMessagePosted": {"content": "first"}},
            {"onMessagePosted": {"content": "second"}},
        ]
        assert "Traceback" not in err + rest

    async def test_gaps_are_reported_on_stderr(
        self, emulator_env: AppSyncEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A dropped connection is reported, then the reconnection and its gap."""
        task = asyncio.ensure_future(
            cli(
                "subscribe",
                "subscription { onMessagePosted { content } }",
                "--count",
                "1",
            )  # fmt: skip
        )
        err = await _wait_for_stderr(capsys, "subscribed", task)
        emulator_env.faults.drop_ws_every_s = 0.2
        err += await _wait_for_stderr(capsys, "reconnected after", task, timeout=20)
        emulator_env.faults.drop_ws_every_s = None
        assert "connection lost" in err
        assert "were missed" in err
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    def test_dropped_events_are_reported_on_stderr(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An OVERFLOW event (the output fell behind) is one stderr line."""
        _GapReporter()(ConnectionEvent(ConnectionState.OVERFLOW, dropped=17))
        out, err = capsys.readouterr()
        assert out == ""
        assert "17 events dropped" in err and err.count("\n") == 1

    async def test_rejected_subscription_exits_1(
        self, emulator_env: AppSyncEmulator, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A subscription AppSync refuses ends with one error line and exit 1."""
        code = await asyncio.wait_for(
            cli("subscribe", "subscription { onMessagePosted { nope } }"), 20
        )
        _, err = capsys.readouterr()
        assert code == 1
        assert err.strip().splitlines()[-1].startswith("appsync-iam: error: ")
        assert "Traceback" not in err


def _client(emulator: AppSyncEmulator) -> AppSyncClient:
    return AppSyncClient(
        emulator.url, region=emulator.region, credentials=emulator.credentials
    )


async def _wait_for_stderr(
    capsys: pytest.CaptureFixture[str],
    text: str,
    task: asyncio.Future[int],
    timeout: float = 10.0,
) -> str:
    """Collect stderr until ``text`` shows up (the command keeps running)."""
    seen = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while text not in seen:
        if task.done():
            raise AssertionError(f"the command ended early: {seen!r} {task.result()}")
        if loop.time() > deadline:
            raise AssertionError(f"no {text!r} on stderr within {timeout} s: {seen!r}")
        await asyncio.sleep(0.02)
        seen += capsys.readouterr().err
    return seen
