"""The emulator's real-time (WebSocket) endpoint. Placeholder: being built."""

from __future__ import annotations

from typing import Any

from aiohttp import web


class RealtimeServer:
    """Serves ``GET <graphql path>/realtime`` for one emulator."""

    def __init__(self, emulator: Any) -> None:
        self._emulator = emulator

    async def handle(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"errors": [{"message": "real-time endpoint not implemented yet"}]},
            status=501,
        )

    async def close(self) -> None:
        """Close every open WebSocket (called when the emulator stops)."""
