"""``appsync-iam events publish|subscribe``: the Events API from the shell.

The URL is ``--url`` or ``$APPSYNC_EVENTS_URL`` (the HTTP URL ending in
``/event``); the other common options are those of the GraphQL commands.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any, Final

from ._cli_commands import (
    EXIT_FAILURE,
    EXIT_OK,
    UsageError,
    _common_options,
    _GapReporter,
    _os_message,
    _positive_int,
    _progress_bar,
    dump_json,
    note,
    resolve_region,
)

if TYPE_CHECKING:
    from ._events import PublishResult
    from ._events_client import AppSyncEventsClient

__all__ = ["add_events_command"]

#: Events read from --file per publish call (sent 5 per request).
_CHUNK: Final = 500


def add_events_command(subparsers: Any) -> None:
    """Add ``events publish`` and ``events subscribe`` to ``subparsers``."""
    common = _common_options()
    for action in common._actions:
        if action.dest == "url":
            action.help = (
                "the Events API URL ending in /event (default: $APPSYNC_EVENTS_URL)"
            )
    events = subparsers.add_parser(
        "events",
        help="publish to or subscribe to AppSync Events channels",
        description="AppSync Events API: publish events, subscribe to channels.",
    )
    commands = events.add_subparsers(dest="events_command", metavar="COMMAND")
    commands.required = True

    publish = commands.add_parser(
        "publish",
        parents=[common],
        help="publish events (JSON values) to a channel",
        description=(
            "Publish each JSON argument (or each line of --file) as one event "
            "to CHANNEL, 5 per request as AppSync allows, signed with IAM. "
            "Prints {successful, failed} as JSON; exits 1 if any event failed."
        ),
        epilog=(
            "example: appsync-iam events publish /default/room1 "
            '\'{"text": "hi"}\' 42 --url $EVENTS_URL'
        ),
    )
    publish.add_argument("channel", metavar="CHANNEL", help="e.g. /default/room1")
    publish.add_argument(
        "events", nargs="*", metavar="JSON", help="events, each a JSON value"
    )
    publish.add_argument(
        "-f",
        "--file",
        metavar="FILE",
        help="a JSON-lines file, one event per line (- for stdin)",
    )
    publish.add_argument(
        "--via",
        choices=("http", "websocket"),
        default="http",
        help="publish over HTTP (default) or the WebSocket",
    )
    publish.add_argument(
        "--concurrency",
        type=_positive_int,
        default=4,
        metavar="N",
        help="requests in flight at once (default: 4)",
    )
    publish.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar for --file (only shown when stderr is a terminal)",
    )
    publish.set_defaults(command_handler=run_events_publish)

    subscribe = commands.add_parser(
        "subscribe",
        parents=[common],
        help="print a channel's events as JSON lines",
        description=(
            "Subscribe to CHANNEL (a trailing /* matches every channel below "
            "it) and print each event as one JSON line until Ctrl-C or "
            "--count events. Gaps (events missed while reconnecting) are "
            "reported on stderr."
        ),
        epilog="example: appsync-iam events subscribe '/default/*' --count 10",
    )
    subscribe.add_argument("channel", metavar="CHANNEL", help="e.g. '/default/*'")
    subscribe.add_argument(
        "--count", type=_positive_int, metavar="N", help="stop after N events"
    )
    subscribe.add_argument(
        "--realtime-url",
        metavar="URL",
        help="the real-time URL, when it is not derived from --url",
    )
    subscribe.set_defaults(command_handler=run_events_subscribe)


def _client(
    args: argparse.Namespace, realtime_url: str | None = None
) -> AppSyncEventsClient:
    from ._events_client import AppSyncEventsClient

    url = args.url or os.environ.get("APPSYNC_EVENTS_URL")
    if not url:
        raise UsageError(
            "no Events API URL: pass --url https://<dns-prefix>.appsync-api."
            "<region>.amazonaws.com/event or set APPSYNC_EVENTS_URL"
        )
    return AppSyncEventsClient(
        url,
        region=resolve_region(url, args.region),
        profile=args.profile or None,
        realtime_url=realtime_url,
        timeout=args.timeout,
    )


def _parse_event(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(
            f"{where} is not JSON ({exc}); quote a string event as JSON, "
            "e.g. '\"hello\"'"
        ) from None


def _result_json(result: PublishResult) -> dict[str, Any]:
    return {
        "successful": [
            {"identifier": e.identifier, "index": e.index} for e in result.successful
        ],
        "failed": [
            {
                "identifier": e.identifier,
                "index": e.index,
                "code": e.code,
                "message": e.message,
            }
            for e in result.failed
        ],
    }


async def run_events_publish(args: argparse.Namespace) -> int:
    """``appsync-iam events publish``: argv events or a JSON-lines file."""
    if args.file and args.events:
        raise UsageError("pass events as arguments or with --file, not both")
    if not args.file and not args.events:
        raise UsageError("no events: pass JSON values or --file events.jsonl")
    from ._events import PublishResult, check_channel

    check_channel(args.channel)  # before reading a large file
    async with _client(args) as client:
        if not args.file:
            events = [
                _parse_event(text, f"event {i}") for i, text in enumerate(args.events)
            ]
            result = await client.publish(
                args.channel, events, via=args.via, concurrency=args.concurrency
            )
        else:
            parts = []
            lines = _read_lines(args.file)
            bar = _progress_bar(len(lines), disabled=args.no_progress, unit="event")
            try:
                for start in range(0, len(lines), _CHUNK):
                    chunk = [
                        _parse_event(text, f"{args.file} line {number}")
                        for number, text in lines[start : start + _CHUNK]
                    ]
                    part = await client.publish(
                        args.channel,
                        chunk,
                        via=args.via,
                        concurrency=args.concurrency,
                    )
                    parts.append(_shifted(part, start))
                    if bar is not None:
                        bar.update(len(chunk))
                        if part.failed:
                            bar.set_postfix(
                                failed=sum(len(p.failed) for p in parts),
                                refresh=False,
                            )
            finally:
                if bar is not None:
                    bar.close()
            result = PublishResult.merge(parts)
    sys.stdout.write(dump_json(_result_json(result)) + "\n")
    sys.stdout.flush()
    if result.failed:
        note(f"{len(result.failed)} of {len(result)} events failed")
        return EXIT_FAILURE
    return EXIT_OK


def _shifted(result: PublishResult, offset: int) -> PublishResult:
    from dataclasses import replace

    return type(result)(
        tuple(replace(e, index=e.index + offset) for e in result.successful),
        tuple(replace(e, index=e.index + offset) for e in result.failed),
    )


def _read_lines(source: str) -> list[tuple[int, str]]:
    """Non-blank ``(line number, text)`` of a JSON-lines file or stdin."""
    try:
        if source == "-":
            if sys.stdin.isatty():
                raise UsageError(
                    "--file - reads JSON lines from a pipe, not a terminal"
                )
            text = sys.stdin.read()
        else:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read --file {source}: {_os_message(exc)}") from None
    lines = [
        (number, raw.strip())
        for number, raw in enumerate(text.splitlines(), start=1)
        if raw.strip()
    ]
    if not lines:
        raise UsageError(f"--file {source} has no events")
    return lines


async def run_events_subscribe(args: argparse.Namespace) -> int:
    """``appsync-iam events subscribe``: events as JSON lines; gaps on stderr."""
    reporter = _GapReporter()
    received = 0
    async with _client(args, args.realtime_url) as client:
        events = client.subscribe_channel(args.channel, on_state=reporter)
        try:
            async for event in events:
                sys.stdout.write(dump_json(event) + "\n")
                sys.stdout.flush()
                received += 1
                if args.count is not None and received >= args.count:
                    break
        finally:
            await events.aclose()  # sends AppSync an unsubscribe
    return EXIT_OK
