"""The client commands of ``appsync-iam``: query, subscribe, batch, schema.

Common options follow the AWS CLI: ``--region`` (else ``AWS_REGION``, then
``AWS_DEFAULT_REGION``, used only when the URL does not name its region),
``--profile`` (else botocore reads ``AWS_PROFILE``), plus ``--url`` (else
``APPSYNC_URL``). Data goes to stdout as JSON; diagnostics, progress and
errors go to stderr. An error is one line, never a secret, and exits 2 for
usage or configuration problems, 1 for failures at run time.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from ._errors import (
    AppSyncError,
    ConfigurationError,
    GraphQLResponseError,
    HTTPStatusError,
    redact,
)
from ._realtime import ConnectionState

if TYPE_CHECKING:
    from ._batch import BatchResult
    from ._client import AppSyncClient
    from ._realtime import ConnectionEvent

__all__ = ["UsageError", "add_client_commands", "describe", "error", "note"]

PROG: Final = "appsync-iam"
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1


class UsageError(Exception):
    """A bad option or input: one line on stderr, exit 2."""


# --- parser -----------------------------------------------------------------------


def _common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("API and credentials (as in the AWS CLI)")
    group.add_argument(
        "--url",
        default=None,
        help="the GraphQL URL (default: $APPSYNC_URL)",
    )
    group.add_argument(
        "--region",
        default=None,
        help=(
            "the API's region; needed for a custom domain (default: "
            "$AWS_REGION, then $AWS_DEFAULT_REGION; a standard AppSync URL "
            "carries its own)"
        ),
    )
    group.add_argument(
        "--profile",
        default=None,
        help="a named profile of ~/.aws/config (default: $AWS_PROFILE)",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help="seconds per request attempt (default: 30)",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        # SUPPRESS: `appsync-iam --debug query ...` must not be reset to False.
        default=argparse.SUPPRESS,
        help="log requests (redacted) and show tracebacks",
    )
    return common


def _operation_options(parser: argparse.ArgumentParser, *, stdin: bool) -> None:
    where = "an argument, -f FILE or stdin" if stdin else "an argument or -f FILE"
    parser.add_argument("query", nargs="?", help=f"the GraphQL document (from {where})")
    parser.add_argument(
        "-f",
        "--file",
        metavar="FILE",
        help="read the GraphQL document from FILE ('-' for stdin)",
    )
    parser.add_argument(
        "--operation-name",
        metavar="NAME",
        help="the operation to run when the document holds several",
    )


def _variable_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-V",
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        dest="var",
        help=(
            "a variable, repeatable; VALUE is parsed as JSON when it is JSON "
            '(42, true, null, [1], {"a": 1}), else taken as a string'
        ),
    )
    parser.add_argument(
        "--variables",
        metavar="JSON",
        help="all variables as one JSON object (-V entries override its keys)",
    )


def add_client_commands(subparsers: Any) -> None:
    """Add ``query``, ``subscribe``, ``batch`` and ``schema`` to ``subparsers``."""
    common = _common_options()

    query = subparsers.add_parser(
        "query",
        parents=[common],
        help="run a query or mutation, print its data as JSON",
        description=(
            "Run one query or mutation against an AppSync API, signed with "
            "IAM (SigV4), and print the answer's data as JSON on stdout."
        ),
        epilog=(
            "example: appsync-iam query 'query Get($id: ID!) { getRoom(id: $id) "
            "{ name } }' -V id=r1 --url $URL"
        ),
    )
    _operation_options(query, stdin=True)
    _variable_options(query)
    query.add_argument(
        "--compact", action="store_true", help="one line of JSON, not indented"
    )
    query.set_defaults(command_handler=run_query)

    subscribe = subparsers.add_parser(
        "subscribe",
        parents=[common],
        help="print subscription events as JSON lines",
        description=(
            "Start a subscription over AppSync's real-time WebSocket, signed "
            "with IAM, and print each event's data as one JSON line until "
            "Ctrl-C or --count events. Connection gaps (when events may have "
            "been missed) are reported on stderr."
        ),
    )
    _operation_options(subscribe, stdin=True)
    _variable_options(subscribe)
    subscribe.add_argument(
        "--count",
        type=_positive_int,
        metavar="N",
        help="stop after N events",
    )
    subscribe.add_argument(
        "--realtime-url",
        metavar="URL",
        help="the real-time URL, when it is not derived from --url",
    )
    subscribe.set_defaults(command_handler=run_subscribe)

    batch = subparsers.add_parser(
        "batch",
        parents=[common],
        help="run one operation per JSON line of variables",
        description=(
            "Run one query or mutation for each line of a JSON-lines input "
            "(each line is the variables object), --concurrency at a time. "
            "Results go to stdout as JSON lines in input order; failed input "
            "lines are copied unchanged to a failures file that can be fed "
            "back in as input. Exits 1 if any line failed."
        ),
        epilog=(
            "example: appsync-iam batch -f post.graphql -i rows.jsonl "
            "--failures failed.jsonl > results.jsonl"
        ),
    )
    _operation_options(batch, stdin=False)
    batch.add_argument(
        "-i",
        "--input",
        default="-",
        metavar="FILE",
        help="the JSON-lines input (default: stdin)",
    )
    batch.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="where to write result lines (default: stdout)",
    )
    batch.add_argument(
        "--failures",
        metavar="FILE",
        help=(
            "where to copy failed input lines (default: <input>.failed.jsonl "
            "next to the input, or batch.failed.jsonl for stdin; written only "
            "if a line fails)"
        ),
    )
    batch.add_argument(
        "--concurrency",
        type=_positive_int,
        default=32,
        metavar="N",
        help="requests in flight at once (default: 32)",
    )
    batch.add_argument(
        "--rate",
        type=_rate,
        metavar="N|adaptive",
        help=(
            "at most N requests per second (retries included), or 'adaptive': "
            "learn the API's quota from throttling (default: no limit)"
        ),
    )
    batch.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help=(
            "process only shard I of N (0 <= I < N): the non-blank input lines "
            "whose position modulo N is I. Default: from AWS_BATCH_JOB_ARRAY_INDEX "
            "and AWS_BATCH_JOB_ARRAY_SIZE when both are set, else everything"
        ),
    )
    batch.add_argument(
        "--unordered",
        action="store_true",
        help="write results as they complete rather than in input order",
    )
    batch.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (it is only shown when stderr is a terminal)",
    )
    batch.set_defaults(command_handler=run_batch)

    schema = subparsers.add_parser(
        "schema",
        parents=[common],
        help="download the schema by introspection and print it as SDL",
        description="Download the API's schema by introspection and print SDL.",
    )
    schema.add_argument(
        "-o", "--output", metavar="FILE", help="write the SDL to FILE, not stdout"
    )
    schema.set_defaults(command_handler=run_schema)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _rate(text: str) -> float | str:
    if text == "adaptive":
        return text
    try:
        return _positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of requests per second > 0 or 'adaptive'"
        ) from None


def _shard(text: str) -> tuple[int, int]:
    index, sep, count = text.partition("/")
    try:
        shard = (int(index), int(count)) if sep else None
    except ValueError:
        shard = None
    if shard is None or not 0 <= shard[0] < shard[1]:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not I/N with 0 <= I < N (e.g. 0/4)"
        )
    return shard


def batch_shard(
    explicit: tuple[int, int] | None, environ: Mapping[str, str]
) -> tuple[int, int] | None:
    """--shard, else AWS Batch's array index and size (both needed), else None."""
    if explicit is not None:
        return explicit
    index = environ.get("AWS_BATCH_JOB_ARRAY_INDEX")
    size = environ.get("AWS_BATCH_JOB_ARRAY_SIZE")
    if index is None or size is None:
        return None
    try:
        return _shard(f"{index}/{size}")
    except argparse.ArgumentTypeError as exc:
        raise UsageError(
            f"AWS_BATCH_JOB_ARRAY_INDEX/AWS_BATCH_JOB_ARRAY_SIZE: {exc}"
        ) from None


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


# --- output and errors ------------------------------------------------------------


def error(message: str) -> None:
    """Print ``appsync-iam: error: <message>`` on one line of stderr."""
    print(f"{PROG}: error: {one_line(message)}", file=sys.stderr, flush=True)


def note(message: str) -> None:
    """Print ``appsync-iam: <message>`` on stderr."""
    print(f"{PROG}: {one_line(message)}", file=sys.stderr, flush=True)


def one_line(text: str) -> str:
    """``text`` redacted, its whitespace (newlines included) collapsed."""
    return " ".join(redact(text).split())


def describe(exc: BaseException) -> str:
    """A short, secret-free description of an error for humans."""
    if isinstance(exc, GraphQLResponseError):
        return graphql_message(exc)
    if isinstance(exc, (HTTPStatusError, AppSyncError, UsageError)):
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError):
        return _os_message(exc)
    return f"{type(exc).__name__}: {exc}"


def graphql_message(exc: GraphQLResponseError) -> str:
    """The messages of a GraphQL error answer (at most three), on one line."""
    parts = []
    for item in exc.errors[:3]:
        text = str(item.get("message", "GraphQL error"))
        if item.get("errorType"):
            text = f"{item['errorType']}: {text}"
        parts.append(text)
    more = len(exc.errors) - len(parts)
    message = "; ".join(parts) or str(exc)
    if more > 0:
        message += f" (and {more} more)"
    return f"GraphQL error: {message}"


def _os_message(exc: OSError) -> str:
    if exc.filename is not None:
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    return str(exc) or type(exc).__name__


# --- inputs: URL, region, query, variables --------------------------------------


def resolve_url(args: argparse.Namespace) -> str:
    url = args.url or os.environ.get("APPSYNC_URL")
    if not url:
        raise UsageError(
            "no API URL: pass --url https://<api-id>.appsync-api.<region>."
            "amazonaws.com/graphql or set APPSYNC_URL"
        )
    return str(url)


def resolve_region(url: str, explicit: str | None) -> str | None:
    """``--region``, else the environment's, unless the URL names its region.

    A standard AppSync URL carries its region, which wins over the
    environment's default (the AWS CLI also lets an endpoint pin its
    region); ``--region`` is passed as given, so a contradiction is an error.
    """
    if explicit:
        return explicit
    env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not env:
        return None
    from ._endpoint import AppSyncEndpoint

    try:
        if AppSyncEndpoint.from_url(url).kind == "standard":
            return None
    except ConfigurationError:
        pass  # a custom domain: it needs the environment's region
    return env


def make_client(
    args: argparse.Namespace, *, realtime_url: str | None = None
) -> AppSyncClient:
    """An :class:`AppSyncClient` for the common options."""
    from ._client import AppSyncClient

    url = resolve_url(args)
    return AppSyncClient(
        url,
        region=resolve_region(url, args.region),
        profile=args.profile or None,
        realtime_url=realtime_url,
        timeout=args.timeout,
    )


def read_query(args: argparse.Namespace, *, stdin: bool) -> str:
    """The GraphQL document from the argument, ``-f FILE`` or stdin."""
    if args.query is not None and args.file is not None:
        raise UsageError(
            "pass the GraphQL document as an argument or with -f, not both"
        )
    if args.file is not None:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(args.file).read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(
                    f"cannot read -f {args.file}: {_os_message(exc)}"
                ) from None
    elif args.query is not None:
        text = args.query
    elif stdin and not sys.stdin.isatty():
        text = sys.stdin.read()
    else:
        where = "as an argument, with -f FILE or on stdin" if stdin else (
            "as an argument or with -f FILE"
        )  # fmt: skip
        raise UsageError(f"no GraphQL document: pass it {where}")
    if not text.strip():
        raise UsageError("the GraphQL document is empty")
    return text


def parse_variables(
    variables_json: str | None, assignments: list[str]
) -> dict[str, Any] | None:
    """``--variables JSON`` merged with ``-V name=value`` entries (these win)."""
    variables: dict[str, Any] = {}
    if variables_json is not None:
        try:
            loaded = json.loads(variables_json)
        except ValueError as exc:
            raise UsageError(f"--variables is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError("--variables must be a JSON object, e.g. '{\"id\": 1}'")
        variables.update(loaded)
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"-V {assignment!r}: expected NAME=VALUE")
        variables[name] = _json_or_string(raw)
    return variables or None


def _json_or_string(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def dump_json(data: Any, *, indent: int | None = None) -> str:
    if indent is None:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(data, ensure_ascii=False, indent=indent)


# --- query ------------------------------------------------------------------------


async def run_query(args: argparse.Namespace) -> int:
    """``appsync-iam query``: print the data of one query or mutation."""
    query = read_query(args, stdin=True)
    variables = parse_variables(args.variables, args.var)
    async with make_client(args) as client:
        try:
            data = await client.execute_async(
                query, variables, operation_name=args.operation_name
            )
        except GraphQLResponseError as exc:
            if exc.data is not None:  # partial data: still the caller's data
                _print_json(exc.data, compact=args.compact)
            raise
    _print_json(data, compact=args.compact)
    return EXIT_OK


def _print_json(data: Any, *, compact: bool) -> None:
    sys.stdout.write(dump_json(data, indent=None if compact else 2) + "\n")
    sys.stdout.flush()


# --- schema -----------------------------------------------------------------------


async def run_schema(args: argparse.Namespace) -> int:
    """``appsync-iam schema``: introspect, print SDL."""
    from graphql import build_client_schema, get_introspection_query, print_schema

    async with make_client(args) as client:
        result = await client.execute_async(get_introspection_query(descriptions=True))
    try:
        schema = build_client_schema(result)  # type: ignore[arg-type]
    except (TypeError, ValueError, KeyError) as exc:
        raise AppSyncError(f"the introspection answer is not a schema: {exc}") from exc
    sdl = print_schema(schema) + "\n"
    if args.output:
        Path(args.output).write_text(sdl, encoding="utf-8")
        note(f"schema written to {args.output} ({len(schema.type_map)} types)")
    else:
        sys.stdout.write(sdl)
        sys.stdout.flush()
    return EXIT_OK


# --- subscribe --------------------------------------------------------------------


async def run_subscribe(args: argparse.Namespace) -> int:
    """``appsync-iam subscribe``: events as JSON lines; gaps on stderr."""
    query = read_query(args, stdin=True)
    variables = parse_variables(args.variables, args.var)
    reporter = _GapReporter()
    received = 0
    async with make_client(args, realtime_url=args.realtime_url) as client:
        events = client.subscribe(
            query, variables, operation_name=args.operation_name, on_state=reporter
        )
        try:
            async for data in events:
                sys.stdout.write(dump_json(data) + "\n")
                sys.stdout.flush()
                received += 1
                if args.count is not None and received >= args.count:
                    break
        finally:
            await events.aclose()  # sends AppSync a "stop"
    return EXIT_OK


@dataclass
class _GapReporter:
    """``on_state`` callback: says on stderr when events may have been missed."""

    lost_at: float | None = None
    connected_once: bool = False

    def __call__(self, event: ConnectionEvent) -> None:
        if event.state is ConnectionState.CONNECTED:
            if self.lost_at is not None:
                gap = time.monotonic() - self.lost_at
                note(
                    f"reconnected after {gap:.1f} s; events published during "
                    "the gap were missed (re-query if they matter)"
                )
                self.lost_at = None
            elif not self.connected_once:
                note("subscribed; waiting for events (Ctrl-C to stop)")
            self.connected_once = True
        elif event.state is ConnectionState.RECONNECTING:
            if self.lost_at is None:
                self.lost_at = time.monotonic()
            why = f": {event.reason}" if event.reason else ""
            note(f"connection lost{why}; reconnecting (attempt {event.attempt})")
        elif event.state is ConnectionState.OVERFLOW:
            note(
                f"{event.dropped} events dropped: the output fell behind "
                "(re-query if they matter)"
            )


# --- batch ------------------------------------------------------------------------


@dataclass
class _Line:
    number: int  # 1-based line number in the input
    raw: str  # the line as read, without its newline
    problem: str | None = None  # why it is not a variables object


@dataclass
class _BatchInput:
    """Reads JSON lines lazily and remembers the raw text of lines in flight."""

    stream: IO[str]
    shard: tuple[int, int] | None = None
    lines: dict[int, _Line] = field(default_factory=dict)
    read: int = 0

    def items(self) -> Iterator[Mapping[str, Any] | str]:
        index = position = 0
        shard, count = self.shard or (0, 1)
        for number, raw in enumerate(self.stream, start=1):
            raw = raw.rstrip("\r\n")
            if not raw.strip():
                continue
            position += 1
            if (position - 1) % count != shard:
                continue  # another shard's line
            self.read += 1
            line = _Line(number, raw)
            try:
                value = json.loads(raw)
            except ValueError as exc:
                line.problem = f"line {number} is not JSON: {exc}"
                value = raw
            else:
                if not isinstance(value, dict):
                    line.problem = (
                        f"line {number} is a JSON {type(value).__name__}, "
                        "not an object of variables"
                    )
                    value = raw
            self.lines[index] = line
            index += 1
            # A non-object travels as the raw string: execute_many reports it
            # as that item's error, in order, without sending anything.
            yield value

    async def aitems(self) -> AsyncIterator[Mapping[str, Any] | str]:
        """:meth:`items` read in a worker thread (stdin, pipes: reads may block)."""
        iterator = self.items()
        done = object()
        while True:
            item = await asyncio.to_thread(next, iterator, done)
            if item is done:
                return
            yield item  # type: ignore[misc]


async def run_batch(args: argparse.Namespace) -> int:
    """``appsync-iam batch``: JSON lines in, JSON lines out, failures kept."""
    if args.file == "-" and args.input == "-":
        raise UsageError("-f - and the input both want stdin; pass -i FILE")
    query = read_query(args, stdin=False)
    source_name = args.input
    shard = batch_shard(args.shard, os.environ)
    failures_path = _failures_path(args.failures, source_name, shard)
    _refuse_overwriting_input(source_name, failures_path, args.output)
    total = _count_lines(source_name)
    if total is not None and shard is not None:
        total = len(range(shard[0], total, shard[1]))
    async with make_client(args) as client:
        stream = _open_input(source_name)
        try:
            output = _open_output(args.output)
            try:
                reader = _BatchInput(stream, shard)
                items: Any = reader.items() if source_name != "-" else reader.aitems()
                results = client.execute_many(  # a bad query raises here
                    query,
                    items,
                    operation_name=args.operation_name,
                    concurrency=args.concurrency,
                    ordered=not args.unordered,
                    rate=args.rate,
                )
                summary = await _drain(
                    args, results, reader, output, failures_path, total
                )
            finally:
                if output is not sys.stdout:
                    output.close()
        finally:
            if stream is not sys.stdin:
                stream.close()
    return EXIT_FAILURE if summary.failed else EXIT_OK


@dataclass
class _Summary:
    ok: int = 0
    failed: int = 0
    failures_file: IO[str] | None = None


async def _drain(
    args: argparse.Namespace,
    results: AsyncIterator[BatchResult],
    reader: _BatchInput,
    output: IO[str],
    failures_path: Path,
    total: int | None,
) -> _Summary:
    summary = _Summary()
    bar = _progress_bar(total, disabled=args.no_progress)
    started = time.perf_counter()
    try:
        async for result in results:
            line = reader.lines.pop(result.index)
            _write_result(output, line, result, summary, failures_path)
            if bar is not None:
                bar.update(1)
                if summary.failed:
                    bar.set_postfix(failed=summary.failed, refresh=False)
    finally:
        if bar is not None:
            bar.close()
        if summary.failures_file is not None:
            summary.failures_file.close()
        _print_summary(summary, time.perf_counter() - started, failures_path)
    return summary


def _write_result(
    output: IO[str],
    line: _Line,
    result: BatchResult,
    summary: _Summary,
    failures_path: Path,
) -> None:
    record: dict[str, Any] = {"line": line.number}
    if result.error is None:
        summary.ok += 1
        record["data"] = result.data
    else:
        summary.failed += 1
        record["error"] = _error_record(result.error, line)
        if summary.failures_file is None:
            summary.failures_file = failures_path.open("w", encoding="utf-8")
        summary.failures_file.write(line.raw + "\n")
        summary.failures_file.flush()
    output.write(dump_json(record) + "\n")
    output.flush()


def _error_record(exc: Exception, line: _Line) -> dict[str, Any]:
    if line.problem is not None:
        return {"type": "InputError", "message": line.problem}
    record: dict[str, Any] = {"type": type(exc).__name__, "message": describe(exc)}
    if isinstance(exc, HTTPStatusError):
        record["status"] = exc.status
        record["errorType"] = exc.error_type
    elif isinstance(exc, GraphQLResponseError):
        record["errors"] = exc.errors
        if exc.data is not None:
            record["data"] = exc.data
    return record


def _print_summary(summary: _Summary, seconds: float, failures_path: Path) -> None:
    done = summary.ok + summary.failed
    rate = f", {done / seconds:,.0f}/s" if seconds > 0 and done else ""
    text = (
        f"batch: {done} line{'s' if done != 1 else ''}, {summary.ok} ok, "
        f"{summary.failed} failed in {seconds:.2f} s{rate}"
    )
    if summary.failed:
        text += (
            f"; failed lines written to {failures_path} (retry with -i {failures_path})"
        )
    note(text)


def _failures_path(
    explicit: str | None, source: str, shard: tuple[int, int] | None
) -> Path:
    if explicit:
        return Path(explicit)
    # Shards sharing a directory write one failures file each.
    part = f".shard-{shard[0]}-of-{shard[1]}" if shard else ""
    if source == "-":
        return Path(f"batch{part}.failed.jsonl")
    path = Path(source)
    return path.with_name(f"{path.stem}{part}.failed.jsonl")


def _refuse_overwriting_input(source: str, failures: Path, output: str) -> None:
    """Writing results or failures into the file being read would lose it."""
    if source == "-":
        return
    read = Path(source).resolve()
    for option, target in (("--failures", failures), ("-o", Path(output))):
        if output == "-" and option == "-o":
            continue
        if target.resolve() == read:
            raise UsageError(f"{option} {target} is the input file; pick another")


def _count_lines(source: str) -> int | None:
    """Non-blank lines of a regular file (the bar's total), else None."""
    if source == "-":
        return None
    try:
        with open(source, "rb") as handle:
            return sum(1 for raw in handle if raw.strip())
    except OSError as exc:
        raise UsageError(f"cannot read -i {source}: {_os_message(exc)}") from None


def _open_input(source: str) -> IO[str]:
    if source == "-":
        if sys.stdin.isatty():
            raise UsageError(
                "batch reads JSON lines (one variables object per line) from "
                "-i FILE or a pipe, not from the terminal"
            )
        return sys.stdin
    try:
        return open(source, encoding="utf-8")  # closed by run_batch
    except OSError as exc:
        raise UsageError(f"cannot read -i {source}: {_os_message(exc)}") from None


def _open_output(target: str) -> IO[str]:
    if target == "-":
        return sys.stdout
    try:
        return open(target, "w", encoding="utf-8")  # closed by run_batch
    except OSError as exc:
        raise UsageError(f"cannot write -o {target}: {_os_message(exc)}") from None


def _progress_bar(total: int | None, *, disabled: bool, unit: str = "req") -> Any:
    """A tqdm bar on stderr counting ``unit``, only when stderr is a terminal."""
    if disabled or not sys.stderr.isatty():
        return None
    # Imported by name: tqdm ships no type hints (types-tqdm is optional).
    tqdm = importlib.import_module("tqdm").tqdm
    return tqdm(total=total, file=sys.stderr, unit=unit, dynamic_ncols=True)
