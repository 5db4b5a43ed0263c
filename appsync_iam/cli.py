"""The ``appsync-iam`` command.

Each subcommand registers a parser and sets ``command_handler`` (an async
function ``(args) -> exit code``); :func:`main` dispatches to it and turns
errors into one line on stderr (no traceback unless ``--debug``). The client
commands live in :mod:`._cli_commands`, the demo in :mod:`._demo`.

::

    appsync-iam query 'query { listRooms { items { id } } }' --url $URL
    appsync-iam subscribe -f on_message.graphql -V roomId=r1 --count 10
    appsync-iam batch -f post.graphql -i rows.jsonl --concurrency 64
    appsync-iam schema -o schema.graphql
    appsync-iam emulator --schema chat            # a local AppSync, IAM verified
    appsync-iam demo                              # the four-step tour

Exit codes: 0 success, 1 failure at run time, 2 usage or configuration
error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Final

from ._cli_commands import UsageError, add_client_commands, graphql_message
from ._cli_events import add_events_command
from ._errors import (
    AppSyncError,
    ConfigurationError,
    CredentialsError,
    GraphQLResponseError,
    redact,
)

__all__ = ["get_parser", "main", "run"]

PROG: Final = "appsync-iam"
EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

Handler = Callable[[argparse.Namespace], Awaitable[int]]

log = logging.getLogger("appsync_iam.cli")


class CommandError(Exception):
    """A failure to report as one stderr line with exit code ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.code = code


# -- parser ----------------------------------------------------------------------


def get_parser() -> argparse.ArgumentParser:
    """The argument parser of ``appsync-iam`` with every subcommand."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="An async client for AWS AppSync APIs protected by IAM "
        "(SigV4), with a local emulator that verifies signatures.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="log at DEBUG level on stderr and show tracebacks",
    )
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", title="commands", required=True
    )
    add_client_commands(subparsers)
    add_events_command(subparsers)
    add_emulator_command(subparsers)
    add_demo_command(subparsers)
    return parser


def add_demo_command(subparsers: Any) -> None:
    """Add ``demo`` to ``subparsers``."""
    demo = subparsers.add_parser(
        "demo",
        help="a four-step tour against an embedded emulator (no AWS needed)",
        description=(
            "Start the emulator on 127.0.0.1 with the chat sample schema and "
            "show, step by step: a signed query, a mutation, a subscription "
            "receiving that mutation's event, and tampered requests rejected "
            "with AppSync's error. Uses the emulator's public test key, never "
            "your AWS credentials."
        ),
    )
    demo.set_defaults(command_handler=run_demo)


def add_emulator_command(subparsers: Any) -> None:
    """Add ``emulator`` to ``subparsers``."""
    emulator = subparsers.add_parser(
        "emulator",
        help="serve a local AppSync that verifies IAM signatures",
        description=(
            "Serve a GraphQL schema like AWS AppSync does, over HTTP and the "
            "real-time WebSocket, verifying every IAM (SigV4) signature. Prints "
            "the URLs and the test credentials, then serves until Ctrl-C."
        ),
        epilog=(
            "examples: appsync-iam emulator --schema chat --port 4000; "
            "appsync-iam emulator --sigv4 --service lambda "
            "--upstream http://127.0.0.1:3000"
        ),
    )
    what = emulator.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--schema",
        metavar="PATH_OR_SAMPLE",
        help="an SDL file, or a bundled sample name (chat, todos)",
    )
    what.add_argument(
        "--sigv4",
        action="store_true",
        help=(
            "serve the generic SigV4 verifier instead (any path and method; "
            "echoes what it received, or proxies to --upstream)"
        ),
    )
    emulator.add_argument(
        "--service",
        default=None,
        help="with --sigv4: the service the signature must name (default: any)",
    )
    emulator.add_argument(
        "--upstream",
        default=None,
        metavar="URL",
        help="with --sigv4: pass verified requests to this base URL",
    )
    emulator.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s)",
    )
    emulator.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    emulator.add_argument(
        "--region", default="us-east-1", help="signing region (default: %(default)s)"
    )
    emulator.add_argument(
        "--ka-interval",
        type=_positive_float,
        default=60.0,
        metavar="SECONDS",
        help="real-time keep-alive interval (default: %(default)s)",
    )
    emulator.set_defaults(command_handler=run_emulator)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, not {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


# -- running ---------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    """Run the subcommand ``args`` was parsed for; return the exit code."""
    debug = bool(getattr(args, "debug", False))
    with _logging_to_stderr(debug):
        return await _dispatch(args, debug)


async def _dispatch(args: argparse.Namespace, debug: bool) -> int:
    handler: Handler = args.command_handler
    try:
        return await handler(args)
    except CommandError as exc:
        return _fail(exc, exc.code, debug)
    except (UsageError, ConfigurationError, CredentialsError) as exc:
        return _fail(exc, EXIT_USAGE, debug)
    except GraphQLResponseError as exc:
        return _fail(exc, EXIT_FAILURE, debug, graphql_message(exc))
    except AppSyncError as exc:
        return _fail(exc, EXIT_FAILURE, debug)
    except OSError as exc:
        return _fail(exc, EXIT_FAILURE, debug)


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point: parse ``argv``, run, exit with the code."""
    args = get_parser().parse_args(argv)
    try:
        code = asyncio.run(main(args))
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)


def _fail(exc: BaseException, code: int, debug: bool, text: str | None = None) -> int:
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    if text is None:
        text = str(exc) or type(exc).__name__
    message = " ".join(redact(text).split())
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    return code


class _StderrHandler(logging.Handler):
    """Writes to ``sys.stderr`` as it is at each record: :func:`main` may run
    several times in one process (tests swap stderr between runs)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


@contextlib.contextmanager
def _logging_to_stderr(debug: bool) -> Iterator[None]:
    """Log appsync_iam records to stderr while a command runs: warnings, or
    everything with --debug (the emulator command adds its own INFO lines).
    Records never hold secrets. The previous configuration is restored, so
    :func:`main` leaves no trace in a process that calls it (tests)."""
    logger = logging.getLogger("appsync_iam")
    emulator_logger = logging.getLogger("appsync_iam.emulator")
    saved = logger.level, emulator_logger.level
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    emulator_logger.setLevel(logging.NOTSET)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        emulator_logger.setLevel(saved[1])


# -- emulator --------------------------------------------------------------------


async def run_emulator(args: argparse.Namespace) -> int:
    """``appsync-iam emulator``: serve until Ctrl-C (or SIGTERM), then exit 0."""
    from .emulator import AppSyncEmulator

    if not args.debug:  # rejections and faults show up as they happen
        logging.getLogger("appsync_iam.emulator").setLevel(logging.INFO)
    if args.sigv4:
        server = _sigv4_server(args)
        return await _serve(server, args, lambda: _print_sigv4_banner(server))
    if args.service or args.upstream:
        raise CommandError("--service and --upstream go with --sigv4", EXIT_USAGE)
    try:
        emulator = AppSyncEmulator(
            args.schema,
            host=args.host,
            port=args.port,
            region=args.region,
            ka_interval=args.ka_interval,
        )
    except FileNotFoundError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc
    except Exception as exc:  # graphql-core raises several types for bad SDL
        raise CommandError(
            f"invalid schema {args.schema!r}: {exc}", EXIT_USAGE
        ) from exc
    return await _serve(emulator, args, lambda: _print_banner(emulator, args.schema))


def _sigv4_server(args: argparse.Namespace) -> Any:
    from .emulator import SigV4Server

    try:
        return SigV4Server(
            service=args.service, region=args.region, upstream=args.upstream,
            host=args.host, port=args.port,
        )  # fmt: skip
    except ValueError as exc:
        raise CommandError(str(exc), EXIT_USAGE) from exc


async def _serve(
    emulator: Any, args: argparse.Namespace, banner: Callable[[], None]
) -> int:
    """Start ``emulator``, print the banner, serve until Ctrl-C or SIGTERM."""
    try:
        await emulator.start()
    except OSError as exc:
        # aiohttp says "error while attempting to bind on address (...): why".
        reason = (exc.strerror or str(exc)).rpartition(": ")[2]
        raise CommandError(
            f"cannot listen on {args.host}:{args.port}: {reason}"
        ) from exc
    stop = asyncio.Event()
    try:
        with _signal_handlers(stop.set):
            banner()
            await stop.wait()
    finally:
        await emulator.close()
    print(f"{PROG}: emulator stopped", file=sys.stderr, flush=True)
    return EXIT_OK


def _print_banner(emulator: Any, schema: str) -> None:
    creds = emulator.credentials
    lines = [
        f"AppSync emulator serving {schema} (IAM signatures verified)",
        f"  GraphQL:   {emulator.url}",
        f"  Real-time: {emulator.realtime_url}",
        f"  Events:    {emulator.events_url}",
        f"  Events WS: {emulator.events_realtime_url}",
        f"  Region:    {emulator.region}",
        "",
        "Test credentials (AWS's public example keys, accepted only here):",
        f"export APPSYNC_URL={emulator.url}",
        f"export AWS_REGION={emulator.region}",
        f"export APPSYNC_REGION={emulator.region}",
        f"export AWS_ACCESS_KEY_ID={creds.access_key}",
        f"export AWS_SECRET_ACCESS_KEY={creds.secret_key}",
        "unset AWS_SESSION_TOKEN AWS_PROFILE",
        "",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def _print_sigv4_banner(server: Any) -> None:
    creds = server.credentials
    upstream = server.upstream or "none (JSON echo; /_stream/sse, /_stream/chunked)"
    lines = [
        "SigV4 verifying server (any path and method; signatures checked with "
        "botocore)",
        f"  URL:       {server.url}",
        f"  Service:   {server.service or 'any'}",
        f"  Region:    {server.region}",
        f"  Upstream:  {upstream}",
        "",
        "Test credentials (AWS's public example keys, accepted only here):",
        f"export SIGV4_URL={server.url}",
        f"export AWS_REGION={server.region}",
        f"export AWS_ACCESS_KEY_ID={creds.access_key}",
        f"export AWS_SECRET_ACCESS_KEY={creds.secret_key}",
        "unset AWS_SESSION_TOKEN AWS_PROFILE",
        "",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


@contextlib.contextmanager
def _signal_handlers(callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` on SIGINT and SIGTERM instead of raising."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # Windows, or not the main thread: KeyboardInterrupt applies
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


# -- demo ------------------------------------------------------------------------


async def run_demo(args: argparse.Namespace) -> int:
    """``appsync-iam demo``: the four steps on stdout; 0 when all passed."""
    from ._demo import run_demo as demo

    return await demo()
