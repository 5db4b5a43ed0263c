"""The emulator's AppSync Events API: ``POST /event`` and ``/event/realtime``.

Wire protocol and signing rules: ``events-api.md`` (shared docs) §1, from
AWS's "Understanding the Event API WebSocket protocol" and "Publish events
via HTTP" pages.

- Every IAM signature is verified with botocore through the emulator's
  verifier, for a virtual ``POST https://<http host>/event`` (canonical URI
  ``/event``): connect over ``{}``, ``subscribe`` over ``{"channel":C}``,
  WebSocket ``publish`` over ``{"channel":C,"events":[...]}`` (compact JSON,
  keys in that order, raw UTF-8), HTTP publish over the real request.
- The handshake's signed headers come from the ``header-<base64url>``
  subprotocol or, when none is offered, from the upgrade request's own
  headers (the Android/Swift form, events-api.md §1.3). Only
  ``aws-appsync-event-ws`` is ever echoed.
- Channels: 1–5 ``/``-separated segments of ``[A-Za-z0-9-]`` (≤ 50, not
  starting or ending with ``-``), optional leading/trailing ``/``; the first
  segment must be a configured namespace; a trailing ``/*`` (subscribe only)
  matches every channel strictly below its prefix.

Behaviour AppSync does not document, chosen here (and said so in the
emulator's docstring): HTTP status codes of Events errors (400
``BadRequestException`` for bad input, 404 ``ResourceNotFound`` for an unknown
namespace, signature failures as for ``/graphql``); whether ``/*`` counts as a
segment (it does not here); what an event that is not valid JSON gets (the
whole request is refused); that ``ka`` starts without ``connection_init``;
the subscription quota per connection (100 here, as for GraphQL).

This module never imports the client's code.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from ._principal import Principal
from ._realtime import (
    RealtimeServer,
    _b64_json,
    _Connection,
    _dumps,
    _Rejected,
    _Subscription,
)
from ._verifier import SignatureRejected

__all__ = ["EventsServer", "PublishedEvent"]

log = logging.getLogger("appsync_iam.emulator")

EVENTS_PATH = "/event"
SUBPROTOCOL = "aws-appsync-event-ws"
#: "You can publish up to 5 events in a batch" (publish-http doc).
MAX_EVENTS = 5
#: 240 KB per event (Events concepts doc), counted on the UTF-8 event string.
MAX_EVENT_BYTES = 240 * 1024
_SEGMENT = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?"
_CHANNEL_RE = re.compile(rf"/?({_SEGMENT}(?:/{_SEGMENT}){{0,4}})/?")
_WILDCARD_RE = re.compile(rf"/?({_SEGMENT}(?:/{_SEGMENT}){{0,4}})/\*")
NAMESPACE_RE = re.compile(_SEGMENT)
_ID_RE = re.compile(r"[a-zA-Z0-9_+-]{1,128}")

_SIGNATURE_TYPES = frozenset(
    {
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "XAmzContentSHA256Mismatch",
    }
)


def _error(error_type: str, message: str) -> dict[str, Any]:
    # "Event API does not currently return errorCode" (Amplify, events-api.md §1.4).
    return {"errorType": error_type, "message": message}


class EventsInputError(Exception):
    """A publish or subscribe refused as a whole: HTTP ``status`` and one error."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(status, error_type, message)
        self.status = status
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True, slots=True)
class PublishedEvent:
    """One event the emulator accepted (``emulator.published``).

    ``channel`` is normalised (``/ns/a``, leading slash, no trailing one);
    ``payload`` the event string as published (a JSON text); ``via`` is
    ``"http"`` or ``"ws"``; ``identifier`` what ``successful[]`` answered;
    ``access_key`` the publisher's key id.
    """

    channel: str
    payload: str
    via: Literal["http", "ws"]
    identifier: str
    access_key: str

    @property
    def value(self) -> Any:
        """The event decoded from JSON."""
        return json.loads(self.payload)


def _segments(channel: Any, *, wildcard: bool) -> tuple[str, ...]:
    """The segments of a valid channel (with ``"*"`` last for a wildcard)."""
    if not isinstance(channel, str):
        raise EventsInputError(400, "BadRequestException", "channel must be a string.")
    match = _CHANNEL_RE.fullmatch(channel)
    if match is not None:
        return tuple(match.group(1).split("/"))
    if wildcard:
        match = _WILDCARD_RE.fullmatch(channel)
        if match is not None:
            return (*match.group(1).split("/"), "*")
    shown = channel[:80]
    if not wildcard and channel.endswith("*"):
        raise EventsInputError(
            400,
            "BadRequestException",
            f"Invalid channel {shown!r}: wildcards are only allowed to subscribe.",
        )
    raise EventsInputError(
        400,
        "BadRequestException",
        f"Invalid channel {shown!r}: 1 to 5 segments of up to 50 characters "
        "[A-Za-z0-9-], not starting or ending with '-'.",
    )


def _matches(pattern: tuple[str, ...], channel: tuple[str, ...]) -> bool:
    if pattern and pattern[-1] == "*":
        prefix = pattern[:-1]
        return len(channel) > len(prefix) and channel[: len(prefix)] == prefix
    return pattern == channel


@dataclass(eq=False)
class _ChannelSubscription(_Subscription):
    pattern: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Outcome:
    """The answer to one publish: ``successful[]`` and ``failed[]``."""

    successful: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    #: The events to deliver (accepted, not failed, not dropped).
    accepted: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"failed": self.failed, "successful": self.successful}


class EventsServer(RealtimeServer):
    """The Events API of one emulator (``emulator.events``).

    ``namespaces`` (a live set) holds the channel namespaces; ``stats``
    counts ``"connections"``, ``"connection_errors"``, ``"subscribes"``,
    ``"subscribe_errors"``, ``"unsubscribes"``, ``"publishes"`` (HTTP and
    WebSocket requests accepted), ``"publish_errors"``, ``"data"`` (data
    frames sent) and ``"drops"``. ``oversize`` says what happens to an event
    over 240 KB: ``"fail"`` (a ``failed[]`` entry, code 400) or ``"drop"``
    (reported successful, never delivered nor recorded: what AppSync is
    reported to do, powertools-lambda-typescript#5339).
    """

    subprotocol = SUBPROTOCOL

    def __init__(self, emulator: Any, namespaces: Iterable[str]) -> None:
        super().__init__(emulator)
        self.namespaces: set[str] = set()
        for name in namespaces:
            self.add_namespace(name)
        self.published: list[PublishedEvent] = []
        self.oversize: Literal["fail", "drop"] = "fail"

    def add_namespace(self, name: str) -> None:
        """Define a channel namespace (works while running)."""
        if not isinstance(name, str) or not NAMESPACE_RE.fullmatch(name):
            raise ValueError(
                f"invalid namespace name {name!r}: 1-50 characters [A-Za-z0-9-], "
                "not starting or ending with '-'"
            )
        self.namespaces.add(name)

    # -- the handshake ----------------------------------------------------------

    @staticmethod
    def _error_object(error_type: str, message: str, code: int) -> dict[str, Any]:
        return _error(error_type, message)

    @staticmethod
    def _auth_error(exc: SignatureRejected) -> dict[str, Any]:
        if exc.error_type in _SIGNATURE_TYPES:
            return _error("BadRequestException", exc.message)
        return _error("UnauthorizedException", exc.message)

    def _connect(self, request: web.Request, protocols: list[str]) -> Principal:
        headers: Any = None
        for proto in protocols:
            if proto.startswith("header-"):
                headers = _b64_json(proto[len("header-") :])
                break
        if headers is None:
            if "Authorization" not in request.headers:
                raise _Rejected(
                    _error(
                        "UnauthorizedException",
                        "Valid authorization header not provided.",
                    )
                )
            # Android/Swift: signed headers on the upgrade request itself.
            headers = request.headers
        principal = self._verify(request, headers, EVENTS_PATH, b"{}")
        if "EventConnect" in principal.deny:
            raise _Rejected(
                _error("UnauthorizedException", "Not authorized to connect.")
            )
        return principal

    def _connection_error(self, errors: list[dict[str, Any]]) -> str:
        return _dumps({"type": "connection_error", "errors": errors})

    def _connection(
        self, request: web.Request, ws: web.WebSocketResponse, principal: Principal
    ) -> _Connection:
        return _EventsConnection(self, request, ws)

    # -- publishing -------------------------------------------------------------

    def authorize(self, principal: Principal, action: str, namespace: str) -> None:
        """Refuse ``action`` (``EventPublish``/``EventSubscribe``) when denied.

        ``Principal.deny`` entries ``"EventPublish"`` or
        ``"EventPublish:<namespace>"`` emulate an IAM policy without it.
        """
        if action in principal.deny or f"{action}:{namespace}" in principal.deny:
            raise EventsInputError(
                401,
                "UnauthorizedException",
                f"Not authorized to {action[5:].lower()} on namespace {namespace!r}.",
            )

    def check_channel(self, channel: Any, *, wildcard: bool) -> tuple[str, ...]:
        """Valid segments of a channel in a defined namespace, or raise."""
        segments = _segments(channel, wildcard=wildcard)
        if segments[0] not in self.namespaces:
            raise EventsInputError(
                404,
                "ResourceNotFound",
                f"Channel namespace {segments[0][:50]!r} not found.",
            )
        return segments

    def check_publish(self, body: Any) -> tuple[tuple[str, ...], list[str]]:
        """``(segments, events)`` of a publish body ``{channel, events}``, or raise."""
        if not isinstance(body, dict):
            raise EventsInputError(
                400, "BadRequestException", "The body must be a JSON object."
            )
        segments = self.check_channel(body.get("channel"), wildcard=False)
        events = body.get("events")
        if not isinstance(events, list) or not events:
            raise EventsInputError(
                400, "BadRequestException", "events must be a non-empty list."
            )
        if len(events) > MAX_EVENTS:
            raise EventsInputError(
                400,
                "BadRequestException",
                f"Too many events: {len(events)}, at most {MAX_EVENTS} per request.",
            )
        for index, event in enumerate(events):
            if not isinstance(event, str):
                raise EventsInputError(
                    400,
                    "BadRequestException",
                    f"Event at index {index} must be a string holding JSON.",
                )
            try:
                json.loads(event)
            except (ValueError, RecursionError):
                raise EventsInputError(
                    400,
                    "BadRequestException",
                    f"Event at index {index} is not valid JSON.",
                ) from None
        return segments, events

    async def publish(
        self,
        segments: tuple[str, ...],
        events: list[str],
        principal: Principal,
        via: Literal["http", "ws"],
    ) -> _Outcome:
        """Accept checked events: record them and answer per event (the caller
        then delivers ``outcome.accepted`` with :meth:`fan_out`)."""
        self.authorize(principal, "EventPublish", segments[0])
        faults = self._emulator.faults
        channel = "/" + "/".join(segments)
        outcome = _Outcome()
        accepted = outcome.accepted
        for index, event in enumerate(events):
            identifier = self._emulator._new_request_id()
            if len(event.encode("utf-8", "surrogatepass")) > MAX_EVENT_BYTES:
                if self.oversize == "fail":
                    outcome.failed.append(
                        {
                            "identifier": identifier,
                            "index": index,
                            "code": 400,
                            "message": "Event exceeds the 240 KB size limit.",
                        }
                    )
                else:
                    outcome.successful.append(
                        {"identifier": identifier, "index": index}
                    )
                continue
            if index in faults.fail_event_indices:
                faults.record("event_failure")
                failed = True
            else:
                failed = faults.draw("event_failure", faults.event_failure_rate)
            if failed:
                outcome.failed.append(
                    {
                        "identifier": identifier,
                        "index": index,
                        "code": faults.event_failure_code,
                        "message": "Event marked in error (emulator fault).",
                    }
                )
                continue
            outcome.successful.append({"identifier": identifier, "index": index})
            self.published.append(
                PublishedEvent(channel, event, via, identifier, principal.access_key)
            )
            accepted.append(event)
        self.stats["publishes"] += 1
        return outcome

    async def fan_out(self, segments: tuple[str, ...], events: list[str]) -> None:
        if not events:
            return
        for connection in list(self._connections):
            for ident, subscription in list(connection.subscriptions.items()):
                if not isinstance(subscription, _ChannelSubscription):
                    continue
                if not _matches(subscription.pattern, segments):
                    continue
                for event in events:
                    frame = _dumps({"type": "data", "id": ident, "event": event})
                    if await connection.send(frame):
                        self.stats["data"] += 1


def signed_body(message: dict[str, Any], *keys: str) -> bytes:
    """The virtual body a ``subscribe`` or ``publish`` was signed over.

    events-api.md §1.6: the message's ``keys`` present (``channel`` then
    ``events``), compact, no escaping beyond JSON's minimum, UTF-8. A lone
    surrogate cannot be UTF-8: that body is rebuilt with ``\\u`` escapes
    (what AppSync does there is unknown).
    """
    body = {key: message[key] for key in keys if key in message}
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(body, separators=(",", ":")).encode()


class _EventsConnection(_Connection):
    """One Events WebSocket: subscribe, unsubscribe, publish (events-api.md §1.4)."""

    server: EventsServer

    def __init__(
        self, server: EventsServer, request: web.Request, ws: web.WebSocketResponse
    ) -> None:
        super().__init__(server, request, ws)
        # connection_init is optional for Events: serve (and send ka) at once.
        self.initialized = True

    async def _reply(self, kind: str, ident: Any, **fields: Any) -> None:
        message: dict[str, Any] = {"type": kind}
        if isinstance(ident, str):
            message["id"] = ident
        message.update(fields)
        await self.send(_dumps(message))

    async def _on_message(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict):
            await self._reply(
                "error",
                None,
                errors=[_error("InvalidInputError", "Unable to parse the message.")],
            )
            return
        kind = message.get("type")
        ident = message.get("id")
        if kind == "connection_init":
            timeout = int(self.emulator.connection_timeout_ms)
            await self._reply("connection_ack", None, connectionTimeoutMs=timeout)
        elif kind in ("subscribe", "publish", "unsubscribe"):
            if not isinstance(ident, str) or not _ID_RE.fullmatch(ident):
                await self._reply(
                    f"{kind}_error",
                    ident if isinstance(ident, str) else None,
                    errors=[
                        _error(
                            "InvalidInputError",
                            "id must be 1-128 characters [a-zA-Z0-9-_+].",
                        )
                    ],
                )
            elif kind == "subscribe":
                await self._on_subscribe(ident, message)
            elif kind == "publish":
                await self._on_publish(ident, message)
            else:
                await self._on_unsubscribe(ident)
        elif kind == "ka":
            pass
        else:
            await self._reply(
                "error",
                ident,
                errors=[
                    _error(
                        "UnsupportedOperation",
                        f"Operation {str(kind)[:40]!r} is not supported.",
                    )
                ],
            )

    def _principal(self, message: dict[str, Any], body: bytes) -> Principal:
        authorization = message.get("authorization")
        if not isinstance(authorization, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in authorization.items()
        ):
            raise _Rejected(
                _error(
                    "UnauthorizedException", "Valid authorization header not provided."
                )
            )
        return self.server._verify(self.request, authorization, EVENTS_PATH, body)

    async def _on_subscribe(self, ident: str, message: dict[str, Any]) -> None:
        server = self.server
        server.stats["subscribes"] += 1
        channel = message.get("channel")
        try:
            if ident in self.subscriptions:
                raise _Rejected(
                    _error(
                        "DuplicatedOperationError",
                        f"Duplicate subscription id {ident!r} on this connection.",
                    )
                )
            if not isinstance(channel, str):
                raise _Rejected(
                    _error("InvalidInputError", "channel must be a string.")
                )
            principal = self._principal(message, signed_body(message, "channel"))
            segments = server.check_channel(channel, wildcard=True)
            server.authorize(principal, "EventSubscribe", segments[0])
            if len(self.subscriptions) >= server.max_subscriptions:
                raise _Rejected(
                    _error(
                        "MaxSubscriptionsReachedError",
                        f"Max number of {server.max_subscriptions} subscriptions "
                        "reached",
                    )
                )
        except EventsInputError as exc:
            await self._subscribe_error(ident, [_error(exc.error_type, exc.message)])
            return
        except _Rejected as exc:
            await self._subscribe_error(ident, exc.errors)
            return
        await self._reply("subscribe_success", ident)
        self.subscriptions[ident] = _ChannelSubscription(
            ident, acked=True, pattern=segments
        )

    async def _subscribe_error(self, ident: str, errors: list[dict[str, Any]]) -> None:
        self.server.stats["subscribe_errors"] += 1
        await self._reply("subscribe_error", ident, errors=errors)

    async def _on_unsubscribe(self, ident: str) -> None:
        self.server.stats["unsubscribes"] += 1
        if self.subscriptions.pop(ident, None) is None:
            await self._reply(
                "unsubscribe_error",
                ident,
                errors=[
                    _error("UnknownOperationError", f"Unknown operation id {ident}")
                ],
            )
        else:
            await self._reply("unsubscribe_success", ident)

    async def _on_publish(self, ident: str, message: dict[str, Any]) -> None:
        server = self.server
        faults = self.emulator.faults
        channel, events = message.get("channel"), message.get("events")
        try:
            if not isinstance(channel, str):
                raise _Rejected(
                    _error("InvalidInputError", "channel must be a string.")
                )
            principal = self._principal(
                message, signed_body(message, "channel", "events")
            )
            if faults.draw("throttle", faults.throttle_rate):
                raise _Rejected(_error("LimitExceededError", "Rate limit exceeded"))
            segments, checked = server.check_publish(
                {"channel": channel, "events": events}
            )
            outcome = await server.publish(segments, checked, principal, "ws")
        except EventsInputError as exc:
            error_type = exc.error_type
            if error_type == "BadRequestException":
                # Bad input over WebSocket is InvalidInputError (events-api.md §1.4).
                error_type = "InvalidInputError"
            await self._publish_error(ident, [_error(error_type, exc.message)])
            return
        except _Rejected as exc:
            await self._publish_error(ident, exc.errors)
            return
        await self._reply("publish_success", ident, **outcome.as_json())
        await server.fan_out(segments, outcome.accepted)

    async def _publish_error(self, ident: str, errors: list[dict[str, Any]]) -> None:
        self.server.stats["publish_errors"] += 1
        await self._reply("publish_error", ident, errors=errors)
