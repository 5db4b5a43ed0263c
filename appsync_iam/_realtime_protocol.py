"""AppSync's real-time (GraphQL over WebSocket) frames, sans-IO.

Pure functions and frozen value types, no sockets and no clock, so every
frame shape is testable without a server (protocol doc §2.4):

- :func:`parse_frame` turns one server text frame into a typed frame, or
  raises :class:`~appsync_iam.ProtocolError` (never anything else);
- :func:`connection_init_frame`, :func:`start_frame`, :func:`stop_frame`
  build the client's frames;
- :func:`header_subprotocol` and :func:`header_query` encode the IAM header
  object for the two handshake forms (§2.2).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ._errors import ConfigurationError, ProtocolError, excerpt

__all__ = [
    "CONNECT_BODY",
    "REALTIME_HEADERS",
    "SUBPROTOCOL",
    "Complete",
    "ConnectionAck",
    "ConnectionErrorFrame",
    "Data",
    "Error",
    "Frame",
    "KeepAlive",
    "StartAck",
    "connection_init_frame",
    "decode_header_object",
    "encode_frame",
    "header_query",
    "header_subprotocol",
    "parse_frame",
    "request_data",
    "start_frame",
    "stop_frame",
]

#: The WebSocket subprotocol AppSync speaks (the legacy Apollo name, §2.1).
SUBPROTOCOL = "graphql-ws"
#: The body the handshake signs: ``POST <graphql_url>/connect`` with ``{}``.
CONNECT_BODY = b"{}"
#: The three constant headers every real-time signature covers (§2.3).
REALTIME_HEADERS: Mapping[str, str] = {
    "accept": "application/json, text/javascript",
    "content-encoding": "amz-1.0",
    "content-type": "application/json; charset=UTF-8",
}

_HEADER_PREFIX = "header-"
# base64("{}"): the ``payload`` query parameter AppSync expects beside ``header``.
_EMPTY_PAYLOAD = "e30="

ErrorList = tuple[dict[str, Any], ...]


# -- frames the server sends ------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectionAck:
    """``connection_ack``: the handshake succeeded.

    ``connection_timeout_ms`` is the keep-alive budget (None when omitted;
    the client then assumes AppSync's 300000).
    """

    connection_timeout_ms: int | None = None


@dataclass(frozen=True, slots=True)
class KeepAlive:
    """``ka``: the server is alive; no reply expected."""


@dataclass(frozen=True, slots=True)
class StartAck:
    """``start_ack``: subscription ``id`` is live."""

    id: str


@dataclass(frozen=True, slots=True)
class Data:
    """``data``: one event for subscription ``id``.

    ``data`` is the payload's ``data`` (shaped by the selection set),
    ``errors`` its GraphQL errors, if any.
    """

    id: str
    data: Any = None
    errors: ErrorList = ()


@dataclass(frozen=True, slots=True)
class Error:
    """``error``: a rejected ``start`` or an ended subscription (with ``id``),
    or a connection-level problem such as ``LimitExceededError`` (``id`` None).
    """

    id: str | None
    errors: ErrorList = ()

    @property
    def error_types(self) -> tuple[str, ...]:
        """Every ``errorType`` carried, in order."""
        return _error_types(self.errors)


@dataclass(frozen=True, slots=True)
class Complete:
    """``complete``: nothing more will arrive for ``id`` (answer to ``stop``)."""

    id: str


@dataclass(frozen=True, slots=True)
class ConnectionErrorFrame:
    """``connection_error``: the handshake was refused; the server closes next."""

    errors: ErrorList = field(default=())

    @property
    def error_types(self) -> tuple[str, ...]:
        """Every ``errorType`` carried, in order."""
        return _error_types(self.errors)


Frame = (
    ConnectionAck
    | KeepAlive
    | StartAck
    | Data
    | Error
    | Complete
    | ConnectionErrorFrame
)


def _error_types(errors: ErrorList) -> tuple[str, ...]:
    return tuple(str(e["errorType"]) for e in errors if e.get("errorType"))


# -- parsing ------------------------------------------------------------------


def parse_frame(text: str | bytes) -> Frame:
    """Parse one server frame; anything unexpected raises :class:`ProtocolError`.

    Lenient where AppSync is known to vary: ``payload.errors`` may be a list
    or a single object (§2.4 robustness rules) and may sit at the top level
    instead of under ``payload``; unknown extra fields are ignored.
    """
    message = _load(text)
    kind = message.get("type")
    if not isinstance(kind, str):
        raise _bad("a frame without a string 'type'", text)
    parser = _PARSERS.get(kind)
    if parser is None:
        raise _bad(f"an unknown frame type {kind[:40]!r}", text)
    return parser(message, text)


def _load(text: str | bytes) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad("a frame that is not JSON", text) from None
    if not isinstance(message, dict):
        raise _bad("a frame that is not a JSON object", text)
    return message


def _bad(what: str, text: str | bytes) -> ProtocolError:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return ProtocolError(f"AppSync real-time sent {what}: {excerpt(text, 120)}")


def _payload(message: dict[str, Any], text: str | bytes) -> dict[str, Any]:
    payload = message.get("payload")
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise _bad("a frame whose 'payload' is not an object", text)
    return payload


def _id(message: dict[str, Any], text: str | bytes) -> str:
    ident = message.get("id")
    if not isinstance(ident, str) or not ident:
        raise _bad(f"a {message.get('type')!s} frame without an 'id'", text)
    return ident


def _errors(message: dict[str, Any], text: str | bytes) -> ErrorList:
    payload = _payload(message, text)
    raw = payload.get("errors", message.get("errors"))
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    return tuple(_error_object(item) for item in items)


def _error_object(item: Any) -> dict[str, Any]:
    if isinstance(item, dict):
        return item
    return {"message": str(item)[:500]}


def _parse_ack(message: dict[str, Any], text: str | bytes) -> Frame:
    timeout = _payload(message, text).get("connectionTimeoutMs")
    if timeout is None:
        return ConnectionAck(None)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise _bad("a connection_ack with an invalid connectionTimeoutMs", text)
    return ConnectionAck(int(timeout))


def _parse_data(message: dict[str, Any], text: str | bytes) -> Frame:
    payload = _payload(message, text)
    return Data(_id(message, text), payload.get("data"), _errors(message, text))


_PARSERS: dict[str, Callable[[dict[str, Any], str | bytes], Frame]] = {
    "connection_ack": _parse_ack,
    "ka": lambda message, text: KeepAlive(),
    "start_ack": lambda message, text: StartAck(_id(message, text)),
    "data": _parse_data,
    "error": lambda message, text: Error(
        None if message.get("id") is None else _id(message, text),
        _errors(message, text),
    ),
    "complete": lambda message, text: Complete(_id(message, text)),
    "connection_error": lambda message, text: ConnectionErrorFrame(
        _errors(message, text)
    ),
}


def encode_frame(frame: Frame) -> str:
    """The JSON text AppSync would send for ``frame`` (the inverse of parsing)."""
    message: dict[str, Any]
    if isinstance(frame, ConnectionAck):
        message = {"type": "connection_ack", "payload": {}}
        if frame.connection_timeout_ms is not None:
            message["payload"]["connectionTimeoutMs"] = frame.connection_timeout_ms
    elif isinstance(frame, KeepAlive):
        message = {"type": "ka"}
    elif isinstance(frame, StartAck):
        message = {"type": "start_ack", "id": frame.id}
    elif isinstance(frame, Data):
        payload: dict[str, Any] = {"data": frame.data}
        if frame.errors:
            payload["errors"] = list(frame.errors)
        message = {"type": "data", "id": frame.id, "payload": payload}
    elif isinstance(frame, Error):
        message = {"type": "error", "payload": {"errors": list(frame.errors)}}
        if frame.id is not None:
            message["id"] = frame.id
    elif isinstance(frame, Complete):
        message = {"type": "complete", "id": frame.id}
    else:
        message = {
            "type": "connection_error",
            "payload": {"errors": list(frame.errors)},
        }
    return _dumps(message)


# -- frames the client sends ---------------------------------------------------


def _dumps(value: Any, *, allow_nan: bool = True) -> str:
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=allow_nan
    )


def request_data(
    query: str,
    variables: Mapping[str, Any] | None = None,
    operation_name: str | None = None,
) -> str:
    """The ``payload.data`` string of a ``start``: serialized once, signed as is.

    Variables JSON cannot carry (a set, bytes, NaN, a cycle) raise
    :class:`ConfigurationError`.
    """
    if variables is not None and not isinstance(variables, Mapping):
        raise ConfigurationError(
            f"variables must be a mapping, not {type(variables).__name__}"
        )
    request: dict[str, Any] = {"query": query, "variables": dict(variables or {})}
    if operation_name is not None:
        request["operationName"] = operation_name
    try:
        text = _dumps(request, allow_nan=False)
        try:
            text.encode()  # the signature hashes these bytes
        except UnicodeEncodeError:  # a lone surrogate: only \u escapes survive
            text = json.dumps(request, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConfigurationError(
            f"the variables cannot be sent as JSON ({type(exc).__name__}: "
            f"{str(exc)[:120]}); nothing was sent"
        ) from None
    return text


def connection_init_frame() -> str:
    """``connection_init`` (sent right after the upgrade, before anything else)."""
    return '{"type":"connection_init"}'


def start_frame(ident: str, data: str, authorization: Mapping[str, str]) -> str:
    """``start`` for subscription ``ident``.

    ``data`` must be the exact string the ``authorization`` header object
    signed (``POST <graphql_url>``, body ``data``): AppSync hashes it as sent.
    """
    return _dumps(
        {
            "id": ident,
            "type": "start",
            "payload": {
                "data": data,
                "extensions": {"authorization": dict(authorization)},
            },
        }
    )


def stop_frame(ident: str) -> str:
    """``stop`` for subscription ``ident``; the server answers ``complete``."""
    return _dumps({"type": "stop", "id": ident})


# -- the IAM header object in the handshake (§2.2) ---------------------------


def header_subprotocol(header_object: Mapping[str, str]) -> str:
    """``header-`` + unpadded base64url of the header object's JSON.

    ``=`` is not a valid token character in ``Sec-WebSocket-Protocol``, so the
    padding is stripped (amplify-js does the same).
    """
    raw = base64.urlsafe_b64encode(_dumps(dict(header_object)).encode())
    return _HEADER_PREFIX + raw.decode("ascii").rstrip("=")


def header_query(header_object: Mapping[str, str]) -> str:
    """The ``header=…&payload=e30=`` query string (standard base64, escaped).

    The base64 is percent-encoded, which any URL decoder undoes; AWS's own
    examples leave ``+``/``/``/``=`` raw, which servers also accept.
    """
    raw = base64.b64encode(_dumps(dict(header_object)).encode()).decode("ascii")
    return f"header={quote(raw, safe='')}&payload={_EMPTY_PAYLOAD}"


def decode_header_object(encoded: str) -> dict[str, str]:
    """Decode either handshake form back into the header object.

    Accepts ``header-<base64url>`` (padding optional) or the bare base64 of
    the query form; raises :class:`ProtocolError` when it is not one.
    """
    text = encoded.removeprefix(_HEADER_PREFIX).strip()
    text = text.replace("+", "-").replace("/", "_").rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("the header object is not base64 JSON") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ProtocolError("the header object is not a JSON object of strings")
    return value
