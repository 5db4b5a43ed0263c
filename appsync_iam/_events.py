"""The AppSync Events API, sans I/O: endpoint, channels, events, frames, results.

Wire protocol and signing: the shared ``events-api.md`` §1, from AWS's
"Understanding the Event API WebSocket protocol" and "Publish events via
HTTP" pages:

- HTTP publish: ``POST https://<id>.appsync-api.<region>.amazonaws.com/event``
  with ``{"channel": C, "events": [<JSON text>, ...]}`` (1-5 events, each a
  string holding a JSON value), signed as an ordinary SigV4 request;
- real time: ``wss://<id>.appsync-realtime-api.<region>.amazonaws.com/event/realtime``,
  subprotocols ``aws-appsync-event-ws`` and ``header-<base64url>``;
- every WebSocket signature is for a virtual ``POST https://<http host>/event``
  over ``{}`` (connect), ``{"channel":C}`` (subscribe) or
  ``{"channel":C,"events":[...]}`` (publish): compact JSON, raw UTF-8.

Nothing here sends anything; :mod:`appsync_iam._events_client` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from ._endpoint import EndpointKind, _netloc, _resolve, _split
from ._errors import AppSyncError, ConfigurationError, ProtocolError, _redact_error
from ._realtime_protocol import _dumps

__all__ = [
    "AppSyncEventsEndpoint",
    "EVENTS_SUBPROTOCOL",
    "FailedEvent",
    "MAX_EVENTS_PER_PUBLISH",
    "MAX_EVENT_BYTES",
    "PublishError",
    "PublishResult",
    "SuccessfulEvent",
    "check_channel",
    "encode_events",
]

#: The WebSocket subprotocol of the Events API ("You must specify
#: aws-appsync-event-ws as one of the subprotocols").
EVENTS_SUBPROTOCOL: Final = "aws-appsync-event-ws"
#: "You can publish up to 5 events in a batch" (publish-http doc).
MAX_EVENTS_PER_PUBLISH: Final = 5
#: 240 KB per event (Events concepts doc); AppSync silently drops bigger
#: events, so the client refuses them before sending.
MAX_EVENT_BYTES: Final = 240 * 1024
_EVENTS_PATH: Final = "/event"
_REALTIME_SUFFIX: Final = "/realtime"

_SEGMENT: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?")
_MAX_SEGMENTS: Final = 5

Via = Literal["http", "websocket"]


# -- endpoint -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppSyncEventsEndpoint:
    """An Events API's HTTP and real-time URLs, signing host and region.

    Build it with :meth:`from_url`::

        ep = AppSyncEventsEndpoint.from_url(
            "https://abc.appsync-api.eu-west-1.amazonaws.com/event")
        ep.realtime_url
        # 'wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime'

    ``host`` is the HTTP host: every WebSocket signature covers it, even
    though the socket goes to the real-time host.

    .. versionadded:: 0.1.0
    """

    http_url: str
    realtime_url: str
    host: str
    region: str
    kind: EndpointKind

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        region: str | None = None,
        realtime_url: str | None = None,
    ) -> AppSyncEventsEndpoint:
        """Parse an Events API HTTP URL (the one ending in ``/event``).

        - standard ``https://<id>.appsync-api.<region>.amazonaws.com/event``
          (also ``.amazonaws.com.cn``): region from the host, real-time URL
          ``wss://<id>.appsync-realtime-api.<region>.amazonaws.com/event/realtime``;
        - a custom domain ``https://api.example.com/event``: ``region`` is
          required, real-time URL ``wss://api.example.com/event/realtime``;
        - a loopback server ``http://127.0.0.1:PORT/event`` (the emulator):
          real-time URL ``ws://127.0.0.1:PORT/event/realtime``, region
          ``us-east-1`` unless given.

        ``<id>`` is the API's DNS prefix (``aws appsync get-api`` →
        ``api.dns.HTTP``), not its API id. Raises :class:`ConfigurationError`
        with what to pass instead.
        """
        parts = _split(url, "Events API URL", ("https", "http"))
        path = parts.path.rstrip("/")
        example = f"'{parts.scheme}://{_netloc(parts)}{_EVENTS_PATH}'"
        if path.endswith(_EVENTS_PATH + _REALTIME_SUFFIX):
            raise ConfigurationError(
                f"{url!r} is the real-time URL; pass the HTTP URL ending in "
                f"/event (e.g. {example}), the real-time URL is derived from it"
            )
        if not path.endswith(_EVENTS_PATH):
            hint = (
                " (that is a GraphQL API's path)" if path.endswith("/graphql") else ""
            )
            raise ConfigurationError(
                f"the Events API URL {url!r} does not end in /event{hint}; "
                f"AppSync serves the Events API at e.g. {example}"
            )
        realtime_url, region, kind = _resolve(
            url,
            parts,
            path,
            region,
            realtime_url,
            what="HTTP URL",
            standard_suffix=_REALTIME_SUFFIX,
        )
        return cls(
            http_url=f"{parts.scheme}://{_netloc(parts)}{path}",
            realtime_url=realtime_url,
            host=_netloc(parts),
            region=region,
            kind=kind,
        )


# -- channels -----------------------------------------------------------------


def check_channel(channel: object, *, wildcard: bool = False) -> str:
    """``channel`` normalized to ``/ns/seg...``, or :class:`ConfigurationError`.

    The websocket-protocol doc's rule: 1-5 ``/``-separated segments, each
    1-50 of ``[A-Za-z0-9-]``, not starting or ending with ``-``; optional
    leading and trailing ``/``. The first segment is the namespace. With
    ``wildcard`` (subscribe), a final ``/*`` matches every channel below the
    prefix; whether ``/*`` counts toward the 5 segments is not documented
    (not counted here, as the emulator does).
    """
    if not isinstance(channel, str):
        raise ConfigurationError(
            f"a channel is a string such as '/default/room1', not "
            f"{type(channel).__name__}"
        )
    text = channel
    star = text.endswith("/*")
    if star:
        if not wildcard:
            raise ConfigurationError(
                f"cannot publish to the wildcard channel {channel!r}: wildcards "
                "('/*' at the end) are for subscriptions only"
            )
        text = text[:-2]
    elif "*" in text:
        where = "only as the last segment, after '/'" if wildcard else "not at all"
        raise ConfigurationError(
            f"channel {channel!r}: '*' is allowed {where} (e.g. '/default/*')"
        )
    inner = text[1:] if text.startswith("/") else text
    if inner.endswith("/") and not star:
        inner = inner[:-1]
    if not inner:
        raise ConfigurationError(
            f"channel {channel!r} has no segments; channels look like "
            "'/<namespace>/<segment>...', e.g. '/default/room1'"
        )
    segments = inner.split("/")
    if len(segments) > _MAX_SEGMENTS:
        raise ConfigurationError(
            f"channel {channel!r} has {len(segments)} segments; AppSync allows "
            f"at most {_MAX_SEGMENTS} (the namespace included)"
        )
    for position, segment in enumerate(segments, 1):
        if _SEGMENT.fullmatch(segment):
            continue
        if not segment:
            why = "is empty (two '/' in a row?)"
        elif len(segment) > 50:
            why = f"is {len(segment)} characters long; the limit is 50"
        elif segment[0] == "-" or segment[-1] == "-":
            why = "starts or ends with '-'"
        else:
            bad = sorted(
                {c for c in segment if not (c.isascii() and c.isalnum())} - {"-"}
            )
            why = f"has characters other than A-Z, a-z, 0-9 and '-': {''.join(bad)!r}"
        raise ConfigurationError(f"channel {channel!r}: segment {position} {why}")
    return "/" + "/".join(segments) + ("/*" if star else "")


def namespace_of(channel: str) -> str:
    """The namespace (first segment) of a checked channel."""
    return channel.split("/", 2)[1]


# -- events -------------------------------------------------------------------


def encode_events(events: object) -> list[str]:
    """Each event as the JSON text AppSync carries, checked against the limits.

    ``events`` is a list or tuple of JSON values (one event = a one-item
    list). Each is serialized once, compactly, non-ASCII kept raw (UTF-8 on
    the wire; a lone surrogate falls back to ``\\u`` escapes). Raises
    :class:`ConfigurationError` for an empty list, a value JSON cannot carry,
    or an event over 240 KB; nothing is sent then.
    """
    if not isinstance(events, (list, tuple)):
        raise ConfigurationError(
            "events must be a list (or tuple) of JSON values, e.g. "
            f"[{{'text': 'hi'}}], not {type(events).__name__}; "
            "for one event pass a one-item list"
        )
    if not events:
        raise ConfigurationError("events is empty; publish at least one event")
    encoded = []
    for index, event in enumerate(events):
        try:
            text = _dumps(event, allow_nan=False)
            try:
                size = len(text.encode())
            except UnicodeEncodeError:  # a lone surrogate
                text = json.dumps(event, separators=(",", ":"), allow_nan=False)
                size = len(text)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ConfigurationError(
                f"event {index} cannot be sent as JSON ({type(exc).__name__}: "
                f"{str(exc)[:120]}); nothing was sent"
            ) from None
        if size > MAX_EVENT_BYTES:
            raise ConfigurationError(
                f"event {index} is {size} bytes of JSON; AppSync's limit is "
                f"{MAX_EVENT_BYTES} bytes (240 KB) per event (bigger events are "
                "dropped "
                "silently), so nothing was sent"
            )
        encoded.append(text)
    return encoded


def batches(
    events: Sequence[str], size: int = MAX_EVENTS_PER_PUBLISH
) -> list[tuple[int, list[str]]]:
    """``(offset, events[offset:offset + size])`` for every batch, in order."""
    return [(i, list(events[i : i + size])) for i in range(0, len(events), size)]


# -- signed bodies and frames ---------------------------------------------------


#: The virtual connect request's body (§1.6).
CONNECT_BODY: Final = b"{}"


def subscribe_body(channel: str) -> bytes:
    """What a ``subscribe`` signs (never sent): ``{"channel":C}``."""
    return _dumps({"channel": channel}).encode()


def publish_body(channel: str, events: Sequence[str]) -> str:
    """The HTTP publish body, and what a WebSocket ``publish`` signs."""
    return _dumps({"channel": channel, "events": list(events)})


def subscribe_frame(ident: str, channel: str, authorization: Mapping[str, str]) -> str:
    """``subscribe`` with the signed header object of :func:`subscribe_body`."""
    return _dumps(
        {
            "type": "subscribe",
            "id": ident,
            "channel": channel,
            "authorization": dict(authorization),
        }
    )


def publish_frame(
    ident: str, channel: str, events: Sequence[str], authorization: Mapping[str, str]
) -> str:
    """WebSocket ``publish`` with the signed header object of :func:`publish_body`."""
    return _dumps(
        {
            "type": "publish",
            "id": ident,
            "channel": channel,
            "events": list(events),
            "authorization": dict(authorization),
        }
    )


def unsubscribe_frame(ident: str) -> str:
    return _dumps({"type": "unsubscribe", "id": ident})


def parse_message(text: str | bytes) -> dict[str, Any]:
    """A server frame as a dict with a string ``type``, or :class:`ProtocolError`."""
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        message = None
    if type(message) is not dict or not isinstance(message.get("type"), str):
        shown = text if isinstance(text, str) else text.decode("utf-8", "replace")
        raise ProtocolError(f"not an Events API frame: {shown[:120]!r}")
    return message


def frame_errors(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The top-level ``errors`` of a frame (Events puts them there, §1.4)."""
    errors = message.get("errors")
    if not isinstance(errors, list):
        return []
    return [e if isinstance(e, dict) else {"message": str(e)} for e in errors]


# -- results ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SuccessfulEvent:
    """An event AppSync accepted: its server-assigned ``identifier`` and its
    ``index`` in the list given to ``publish``.

    .. versionadded:: 0.1.0
    """

    identifier: str
    index: int


@dataclass(frozen=True, slots=True)
class FailedEvent:
    """An event AppSync refused (the namespace's ``onPublish`` handler marked
    it in error): ``index`` in the list given to ``publish``, ``code`` and
    ``message`` as AppSync sent them (either may be None).

    .. versionadded:: 0.1.0
    """

    identifier: str | None
    index: int
    code: int | None
    message: str | None


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What one ``publish`` call did, event by event.

    Partial failure is data, not an exception: check :attr:`ok` or
    :attr:`failed`. ``successful`` and ``failed`` are sorted by index.

    .. versionadded:: 0.1.0
    """

    successful: tuple[SuccessfulEvent, ...] = ()
    failed: tuple[FailedEvent, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every event was accepted."""
        return not self.failed

    def __len__(self) -> int:
        return len(self.successful) + len(self.failed)

    @classmethod
    def from_answer(
        cls, answer: object, offset: int = 0, count: int | None = None
    ) -> PublishResult:
        """Parse ``{"successful": [...], "failed": [...]}``, indices + ``offset``."""
        if (
            not isinstance(answer, dict)
            or not isinstance(answer.get("successful", []), list)
            or not isinstance(answer.get("failed", []), list)
        ):
            raise ProtocolError(
                f"answer is not an Events publish result: {str(answer)[:120]!r}",
                sent=True,
            )
        try:
            ok = tuple(
                SuccessfulEvent(
                    str(item.get("identifier", "")), offset + int(item["index"])
                )
                for item in answer.get("successful", [])
            )
            failed = tuple(
                FailedEvent(
                    None if item.get("identifier") is None else str(item["identifier"]),
                    offset + int(item["index"]),
                    _int_or_none(item.get("code")),
                    None if item.get("message") is None else str(item["message"]),
                )
                for item in answer.get("failed", [])
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise ProtocolError(
                f"malformed Events publish result: {str(answer)[:120]!r}", sent=True
            ) from None
        if count is not None and len(ok) + len(failed) != count:
            raise ProtocolError(
                f"the publish result lists {len(ok) + len(failed)} events, "
                f"{count} were sent",
                sent=True,
            )
        return cls(ok, failed)

    @classmethod
    def merge(cls, parts: Iterable[PublishResult]) -> PublishResult:
        parts = list(parts)
        return cls(
            tuple(
                sorted((e for p in parts for e in p.successful), key=lambda e: e.index)
            ),
            tuple(sorted((e for p in parts for e in p.failed), key=lambda e: e.index)),
        )


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class PublishError(AppSyncError):
    """A WebSocket ``publish`` answered with ``publish_error`` (the whole batch).

    ``.errors`` holds AppSync's error objects (redacted), ``.error_type`` the
    first ``errorType``. Over HTTP the same refusals are
    :class:`HTTPStatusError` and its subclasses.

    .. versionadded:: 0.1.0
    """

    def __init__(self, message: str, *, errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(message)
        self.errors: list[dict[str, Any]] = [_redact_error(e) for e in errors]

    @property
    def error_type(self) -> str | None:
        for error in self.errors:
            if error.get("errorType"):
                return str(error["errorType"])
        return None
