"""pytest fixtures that run the AppSync emulator for your tests (opt-in).

Enable it in a ``conftest.py`` (it is deliberately not auto-loaded)::

    pytest_plugins = ["appsync_iam.emulator.pytest_plugin"]

Then::

    async def test_send_message(appsync_emulator):
        client = AppSyncClient(appsync_emulator.url, region=appsync_emulator.region,
                               credentials=appsync_emulator.credentials)
        ...
        assert [op.field for op in appsync_emulator.executed] == ["createMessage"]

Override ``appsync_emulator_schema`` (a path, SDL text or a sample name) and
``appsync_emulator_resolvers`` in your own conftest to serve your API::

    @pytest.fixture
    def appsync_emulator_schema():
        return Path(__file__).parent / "schema.graphql"

The async fixture needs pytest-asyncio; ``appsync_emulator_in_thread`` serves
sync tests from a background thread.

``sigv4_server`` (async) and ``sigv4_server_in_thread`` run a
:class:`SigV4Server` (any service and region, JSON echo) to test your own
httpx / requests / aiohttp code that signs with SigV4::

    def test_my_client(sigv4_server_in_thread):
        server = sigv4_server_in_thread
        my_code(server.url + "/prod/items", credentials=server.credentials,
                region=server.region)
        assert server.requests[-1].accepted

Override ``sigv4_server_options`` (keyword arguments of :class:`SigV4Server`,
e.g. ``{"service": "s3"}`` or ``{"upstream": ...}``) to configure them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import pytest
import pytest_asyncio

from ._samples import sample_schema_path
from ._server import AppSyncEmulator
from ._sigv4_server import SigV4Server

__all__ = [
    "appsync_emulator",
    "appsync_emulator_in_thread",
    "appsync_emulator_resolvers",
    "appsync_emulator_schema",
    "sigv4_server",
    "sigv4_server_in_thread",
    "sigv4_server_options",
]

Schema = str | os.PathLike[str]
Resolvers = Mapping[str, Callable[..., Any]] | None


@pytest.fixture
def appsync_emulator_schema() -> Schema:
    """The schema the emulator serves: the bundled ``chat`` sample by default."""
    return sample_schema_path("chat")


@pytest.fixture
def appsync_emulator_resolvers() -> Resolvers:
    """Custom ``"Type.field"`` resolvers; None uses the in-memory defaults."""
    return None


@pytest_asyncio.fixture(loop_scope="function")
async def appsync_emulator(
    appsync_emulator_schema: Schema, appsync_emulator_resolvers: Resolvers
) -> AsyncIterator[AppSyncEmulator]:
    """A running :class:`AppSyncEmulator` on 127.0.0.1, a fresh one per test."""
    async with AppSyncEmulator(
        appsync_emulator_schema, resolvers=appsync_emulator_resolvers
    ) as emulator:
        yield emulator


@pytest.fixture
def appsync_emulator_in_thread(
    appsync_emulator_schema: Schema, appsync_emulator_resolvers: Resolvers
) -> Iterator[AppSyncEmulator]:
    """The same, served from a background thread, for sync tests."""
    emulator = AppSyncEmulator(
        appsync_emulator_schema, resolvers=appsync_emulator_resolvers
    )
    with emulator.run_in_thread():
        yield emulator


@pytest.fixture
def sigv4_server_options() -> Mapping[str, Any]:
    """Keyword arguments for :class:`SigV4Server` (none by default: any service)."""
    return {}


@pytest_asyncio.fixture(loop_scope="function")
async def sigv4_server(
    sigv4_server_options: Mapping[str, Any],
) -> AsyncIterator[SigV4Server]:
    """A running :class:`SigV4Server` on 127.0.0.1, a fresh one per test."""
    async with SigV4Server(**sigv4_server_options) as server:
        yield server


@pytest.fixture
def sigv4_server_in_thread(
    sigv4_server_options: Mapping[str, Any],
) -> Iterator[SigV4Server]:
    """The same, served from a background thread, for sync tests."""
    with SigV4Server(**sigv4_server_options).run_in_thread() as server:
        yield server
