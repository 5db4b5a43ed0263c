"""AppSyncClient: queries, documents, concurrency, lifecycle, the blocking form."""

from __future__ import annotations

import asyncio
import gc

import pytest
from gql import gql

from appsync_iam import (
    AppSyncClient,
    ConfigurationError,
    FrozenCredentials,
    GraphQLResponseError,
)
from appsync_iam.emulator import AppSyncEmulator

from .conftest import FAST_RETRY, GET_ROOM, POST, InFlight, mutations

CREDS = FrozenCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


class TestConstruction:
    def test_repr_has_no_secret(self) -> None:
        """The repr names the URL and region, never a key."""
        client = AppSyncClient("http://127.0.0.1:9/graphql", credentials=CREDS)
        assert repr(client) == (
            "appsync_iam.AppSyncClient(url='http://127.0.0.1:9/graphql', "
            "region='us-east-1')"
        )

    def test_standard_url_gives_region(self) -> None:
        """A standard AppSync URL carries its region."""
        client = AppSyncClient(
            "https://abcdefghijklmnopqrstuvwxyz.appsync-api.eu-west-2.amazonaws.com"
            "/graphql",
            credentials=CREDS,
        )
        assert client.endpoint.region == "eu-west-2"

    def test_credentials_and_profile_conflict(self) -> None:
        """Passing both credentials and a profile is a ConfigurationError."""
        with pytest.raises(ConfigurationError):
            AppSyncClient(
                "http://127.0.0.1:9/graphql", credentials=CREDS, profile="dev"
            )

    def test_slots(self) -> None:
        """The client has no __dict__: attributes cannot be added by mistake."""
        client = AppSyncClient("http://127.0.0.1:9/graphql", credentials=CREDS)
        with pytest.raises(AttributeError):
            client.extra = 1  # type: ignore[attr-defined]


class TestDocuments:
    async def test_gql_document(self, client: AppSyncClient) -> None:
        """A parsed gql document is accepted and printed once."""
        document = gql(GET_ROOM)
        for _ in range(2):
            data = await client.execute_async(document, {"id": "d"})
            assert data == {"getRoom": {"id": "d", "name": "room d"}}

    async def test_operation_name_picks_one(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """A multi-operation document runs the operation named."""
        document = GET_ROOM + "\n" + POST
        data = await client.execute_async(
            document, {"room": "o", "content": "c"}, operation_name="Post"
        )
        assert data["postMessage"]["content"] == "c"
        assert mutations(emulator) == 1

    @pytest.mark.parametrize(
        ("query", "name", "match"),
        [
            (GET_ROOM + "\n" + POST, None, "operation_name"),
            (GET_ROOM, "Nope", "not in the document"),
            ("subscription { onRoomCreated { id } }", None, "subscribe"),
            ("fragment F on Room { id }", None, "no operation"),
            ("query {", None, "not valid GraphQL"),
        ],
    )
    async def test_bad_documents(
        self,
        client: AppSyncClient,
        emulator: AppSyncEmulator,
        query: str,
        name: str | None,
        match: str,
    ) -> None:
        """Documents that cannot be sent raise ConfigurationError, sending nothing."""
        with pytest.raises(ConfigurationError, match=match):
            await client.execute_async(query, operation_name=name)
        assert emulator.executed == []

    async def test_not_a_query(self, client: AppSyncClient) -> None:
        """Anything but a string or a document is a TypeError."""
        with pytest.raises(TypeError):
            await client.execute_async(42)  # type: ignore[arg-type]

    async def test_string_sent_as_written(self, client: AppSyncClient) -> None:
        """Comments and formatting of a query string do not stop it working."""
        query = "# list them\nquery   {\n  listRooms { items { id } }  # all\n}"
        assert await client.execute_async(query) == {"listRooms": {"items": []}}

    async def test_graphql_error_carries_gql_attributes(
        self, client: AppSyncClient
    ) -> None:
        """The facade's errors are appsync_iam's (gql's bases are the transport's),
        with the attributes gql's TransportQueryError has."""
        with pytest.raises(GraphQLResponseError) as info:
            await client.execute_async("query { nope }")
        error = info.value
        assert type(error) is GraphQLResponseError
        assert error.errors and error.data is None
        assert error.extensions is None and error.query_id is None

    async def test_per_call_headers(self, client: AppSyncClient) -> None:
        """Per-call headers (signed) do not break verification."""
        data = await client.execute_async(
            GET_ROOM, {"id": "h"}, headers={"X-Request-Tag": "t-1"}
        )
        assert data["getRoom"]["id"] == "h"


class TestConcurrency:
    async def test_500_concurrent_calls(
        self, client: AppSyncClient, emulator: AppSyncEmulator
    ) -> None:
        """500 concurrent mutations on one client all succeed, each run once."""
        results = await asyncio.gather(
            *(
                client.execute_async(POST, {"room": "c", "content": str(i)})
                for i in range(500)
            )
        )
        contents = sorted(int(r["postMessage"]["content"]) for r in results)
        assert contents == list(range(500))
        assert mutations(emulator) == 500

    async def test_calls_share_one_bounded_pool(
        self, emulator: AppSyncEmulator, in_flight: InFlight
    ) -> None:
        """Concurrent calls share one session: the server never sees more than
        max_connections requests at once."""
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, max_connections=5
        ) as client:
            await asyncio.gather(
                *(client.execute_async(GET_ROOM, {"id": str(i)}) for i in range(60))
            )
        assert in_flight.calls == 60
        assert in_flight.peak == 5


class TestLifecycle:
    async def test_opens_lazily_and_closes_twice(
        self, emulator: AppSyncEmulator
    ) -> None:
        """Without async with, the client opens on first use; close() is idempotent."""
        client = AppSyncClient(emulator.url, credentials=emulator.credentials)
        await client.execute_async(GET_ROOM, {"id": "a"})
        await client.close()
        await client.close()
        assert client.closed

    async def test_use_after_close(self, emulator: AppSyncEmulator) -> None:
        """A closed client raises a clear RuntimeError."""
        client = AppSyncClient(emulator.url, credentials=emulator.credentials)
        async with client:
            await client.execute_async(GET_ROOM, {"id": "a"})
        with pytest.raises(RuntimeError, match="closed"):
            await client.execute_async(GET_ROOM, {"id": "a"})
        with pytest.raises(RuntimeError, match="closed"):
            async with client:
                pass

    async def test_blocking_execute_inside_a_loop(self, client: AppSyncClient) -> None:
        """execute() in a running loop raises, pointing to execute_async."""
        with pytest.raises(RuntimeError, match="execute_async"):
            client.execute(GET_ROOM, {"id": "a"})

    async def test_unclosed_client_on_a_finished_loop_is_clean(
        self, emulator: AppSyncEmulator
    ) -> None:
        """A client never closed leaves no warning once its loop shut down.

        (The loop of this test shuts down after it; filterwarnings=error and
        the unraisable-exception check catch a leaked session.)
        """
        client = AppSyncClient(emulator.url, credentials=emulator.credentials)
        await client.execute_async(GET_ROOM, {"id": "a"})


class TestBlockingExecute:
    def test_execute_reuses_a_background_loop(self) -> None:
        """The blocking form works from sync code and reuses its loop thread."""
        emulator = AppSyncEmulator("chat")
        with emulator.run_in_thread():
            client = AppSyncClient(emulator.url, credentials=emulator.credentials)
            with client:
                for i in range(3):
                    data = client.execute(POST, {"room": "b", "content": str(i)})
                    assert data["postMessage"]["content"] == str(i)
                with pytest.raises(GraphQLResponseError):
                    client.execute("query { nope }")
            assert client.closed
            with pytest.raises(RuntimeError, match="closed"):
                client.execute(POST, {"room": "b", "content": "x"})
        assert mutations(emulator) == 3

    def test_close_sync_without_use(self) -> None:
        """close_sync() on an unused client does nothing harmful, twice."""
        client = AppSyncClient("http://127.0.0.1:9/graphql", credentials=CREDS)
        client.close_sync()
        client.close_sync()
        del client
        gc.collect()

    def test_mixed_sync_and_async_close(self) -> None:
        """A client used by execute() and asyncio.run() closes both sessions."""
        emulator = AppSyncEmulator("chat")
        with emulator.run_in_thread():
            client = AppSyncClient(
                emulator.url, credentials=emulator.credentials, retry=FAST_RETRY
            )
            client.execute(GET_ROOM, {"id": "1"})

            async def run() -> None:
                await client.execute_async(GET_ROOM, {"id": "2"})
                await client.close()

            asyncio.run(run())
        gc.collect()
