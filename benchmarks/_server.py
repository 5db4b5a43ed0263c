"""A loopback HTTP/1.1 server answering fixed AppSync-shaped JSON, fast.

Runs in its own process so that the client under test is the bottleneck: it
parses just enough HTTP (headers, ``Content-Length``, keep-alive) to answer
each ``POST /graphql`` with the same 200 JSON body (anything else: 404) and
never verifies a signature. ``e2e.py``, ``memory.py`` and ``cold_start.py``
use it.

Standalone: ``python benchmarks/_server.py`` prints ``PORT <n>`` and serves
until killed. From a benchmark: ``with running_server() as url: ...``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

BODY = b'{"data":{"getRoom":{"id":"room-1","name":"Benchmark room","topic":null}}}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json;charset=UTF-8\r\n"
    b"x-amzn-RequestId: 00000000-0000-4000-8000-000000000000\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
    b"\r\n" + BODY
)
NOT_FOUND_BODY = b'{"message":"not found"}'
NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: " + str(len(NOT_FOUND_BODY)).encode() + b"\r\n"
    b"\r\n" + NOT_FOUND_BODY
)


class _FixedJSON(asyncio.Protocol):
    """One connection: answer every complete request with RESPONSE."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        answers = []
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            total = end + 4 + _content_length(head)
            if len(buffer) < total:
                break
            buffer = buffer[total:]
            # A request to another path is a client bug: don't answer 200.
            ok = head.startswith((b"POST /graphql ", b"POST /graphql?"))
            answers.append(RESPONSE if ok else NOT_FOUND)
        self.buffer = buffer
        if answers and self.transport is not None:
            self.transport.write(b"".join(answers))


def _content_length(head: bytes) -> int:
    lower = head.lower()
    at = lower.find(b"\r\ncontent-length:")
    if at < 0:
        return 0
    start = at + 17
    stop = lower.find(b"\r\n", start)
    return int(lower[start : stop if stop >= 0 else None])


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_FixedJSON, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with server:
        await stop


@contextlib.contextmanager
def running_server() -> Iterator[str]:
    """Start the server in a child process; yield its GraphQL URL."""
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        yield f"http://127.0.0.1:{int(line.split()[1])}/graphql"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    asyncio.run(_serve())
