"""AppSyncIAMTransport under gql's own Client, against the emulator."""

from __future__ import annotations

import pytest
from gql import Client, GraphQLRequest, gql
from gql.transport import exceptions as gql_errors
from gql.transport.exceptions import TransportQueryError
from graphql import GraphQLError

from appsync_iam import (
    AppSyncClient,
    AppSyncIAMTransport,
    AuthorizationError,
    ConfigurationError,
    FrozenCredentials,
    GraphQLResponseError,
    HTTPStatusError,
    ProtocolError,
    ThrottlingError,
    TransportError,
)
from appsync_iam._printed import document_operation
from appsync_iam.emulator import AppSyncEmulator

from .conftest import FAST_RETRY, GET_ROOM, NO_RETRY, POST, Scripted, mutations


def transport_for(emulator: AppSyncEmulator, **kwargs: object) -> AppSyncIAMTransport:
    return AppSyncIAMTransport(
        emulator.url,
        credentials=emulator.credentials,
        **kwargs,  # type: ignore[arg-type]
    )


class TestGqlExceptionBases:
    """Errors leaving the transport are also gql's; the facade's are not."""

    async def test_every_kind_is_also_gqls(self, emulator: AppSyncEmulator) -> None:
        """Auth, throttling, protocol and connect failures: both trees at once."""
        wrong = FrozenCredentials("AKIDEXAMPLE", "not-the-secret")
        cases: list[tuple[AppSyncIAMTransport, type[Exception], type[Exception]]] = [
            (
                AppSyncIAMTransport(emulator.url, credentials=wrong, retry=NO_RETRY),
                AuthorizationError,
                gql_errors.TransportServerError,
            ),
            (
                AppSyncIAMTransport(
                    "http://127.0.0.1:9/graphql",
                    region="us-east-1",
                    credentials=emulator.credentials,
                    retry=NO_RETRY,
                ),
                TransportError,
                gql_errors.TransportError,
            ),
        ]
        for transport, ours, theirs in cases:
            async with Client(transport=transport) as session:
                with pytest.raises(ours) as info:
                    await session.execute(
                        GraphQLRequest(GET_ROOM, variable_values={"id": "1"})
                    )
            error = info.value
            assert isinstance(error, theirs)
            assert type(error).__name__ == ours.__name__
            assert type(error).__module__ == "appsync_iam"
            assert f"appsync_iam.{ours.__name__}" in repr(type(error))

    async def test_protocol_error(self, scripted: Scripted) -> None:
        """A proxy's HTML page is a ProtocolError and gql's TransportProtocolError."""
        scripted.replies.append((502, {"Content-Type": "text/html"}, b"<html>"))
        transport = AppSyncIAMTransport(
            scripted.url,
            region="us-east-1",
            credentials=FrozenCredentials("AKIDEXAMPLE", "s"),
            retry=NO_RETRY,
        )
        async with Client(transport=transport) as session:
            with pytest.raises(ProtocolError) as info:
                await session.execute(
                    GraphQLRequest(GET_ROOM, variable_values={"id": "1"})
                )
        assert isinstance(info.value, gql_errors.TransportProtocolError)
        assert "<html>" in str(info.value)

    async def test_facade_errors_have_no_gql_base(
        self, emulator: AppSyncEmulator
    ) -> None:
        """AppSyncClient raises the plain classes (it never imports gql)."""
        emulator.faults.throttle_rate = 1.0
        async with AppSyncClient(
            emulator.url, credentials=emulator.credentials, retry=NO_RETRY
        ) as client:
            with pytest.raises(ThrottlingError) as info:
                await client.execute_async(GET_ROOM, {"id": "1"})
        assert type(info.value) is ThrottlingError
        assert not isinstance(info.value, gql_errors.TransportError)
        assert isinstance(info.value, HTTPStatusError) and info.value.code == 429


class TestUnderGqlClient:
    async def test_fetch_schema_and_execute(self, emulator: AppSyncEmulator) -> None:
        """Introspection and signed requests work with fetch_schema_from_transport."""
        client = Client(
            transport=transport_for(emulator), fetch_schema_from_transport=True
        )
        async with client as session:
            assert client.schema is not None
            assert client.schema.get_type("Message") is not None
            posted = await session.execute(
                GraphQLRequest(POST, variable_values={"room": "g", "content": "ünï"})
            )
            assert posted["postMessage"]["content"] == "ünï"
            request = GraphQLRequest(GET_ROOM, variable_values={"id": "q"})
            assert await session.execute(request) == {
                "getRoom": {"id": "q", "name": "room q"}
            }
        assert mutations(emulator) == 1

    async def test_local_validation_with_schema(
        self, emulator: AppSyncEmulator
    ) -> None:
        """With the fetched schema, gql validates locally: nothing is sent."""
        client = Client(
            transport=transport_for(emulator), fetch_schema_from_transport=True
        )
        async with client as session:
            with pytest.raises(GraphQLError):
                await session.execute(gql("query { noSuchField }"))
        assert emulator.executed == []

    async def test_graphql_errors_are_transport_query_errors(
        self, emulator: AppSyncEmulator
    ) -> None:
        """Server GraphQL errors raise GraphQLResponseError, a TransportQueryError."""
        async with Client(transport=transport_for(emulator)) as session:
            with pytest.raises(TransportQueryError) as info:
                await session.execute(gql("query { noSuchField }"))
        assert isinstance(info.value, GraphQLResponseError)
        assert info.value.errors
        assert info.value.request_id

    async def test_http_errors_keep_status(self, emulator: AppSyncEmulator) -> None:
        """A 429 keeps its status and errorType under gql's Client."""
        emulator.faults.throttle_rate = 1.0
        async with Client(transport=transport_for(emulator, retry=NO_RETRY)) as s:
            with pytest.raises(ThrottlingError) as info:
                await s.execute(GraphQLRequest(GET_ROOM, variable_values={"id": "x"}))
        assert info.value.code == 429
        assert isinstance(info.value, gql_errors.TransportServerError)

    async def test_retries_under_gql(self, emulator: AppSyncEmulator) -> None:
        """Throttled requests are retried under gql's Client too."""
        emulator.faults.throttle_rate = 0.3
        request = gql(POST)
        async with Client(transport=transport_for(emulator, retry=FAST_RETRY)) as s:
            for i in range(20):
                request.variable_values = {"room": "r", "content": str(i)}
                await s.execute(request)
        assert mutations(emulator) == 20

    async def test_extra_headers_are_signed(self, emulator: AppSyncEmulator) -> None:
        """extra_args headers are sent and signed; the emulator accepts them."""
        async with Client(transport=transport_for(emulator)) as session:
            data = await session.execute(
                GraphQLRequest(GET_ROOM, variable_values={"id": "h"}),
                extra_args={"headers": {"X-Tag": "1"}},
            )
        assert data["getRoom"]["id"] == "h"

    async def test_batching_and_uploads_refused(
        self, emulator: AppSyncEmulator
    ) -> None:
        """AppSync takes neither batches nor uploads: clear errors."""
        transport = transport_for(emulator)
        await transport.connect()
        try:
            with pytest.raises(ConfigurationError, match="batched"):
                await transport.execute_batch([gql(GET_ROOM)])
            with pytest.raises(ConfigurationError, match="upload"):
                await transport.execute(gql(GET_ROOM), upload_files=True)
            with pytest.raises(ConfigurationError, match="owns"):
                await transport.execute(gql(GET_ROOM), extra_args={"json": {}})
        finally:
            await transport.close()

    def test_printed_once_per_document(self) -> None:
        """The query text of a document is printed once and cached."""
        request = gql(GET_ROOM)
        first = document_operation(request.document)
        assert document_operation(request.document) is first
        assert first.is_mutation(None) is False
        assert document_operation(gql(POST).document).is_mutation(None) is True
