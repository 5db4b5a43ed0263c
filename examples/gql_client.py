"""gql users: ``AppSyncIAMTransport`` under ``gql.Client``, with the DSL.

The transport is a drop-in for gql's ``AIOHTTPTransport``: IAM-signed,
retried, typed errors (still gql's exception classes). With
``fetch_schema_from_transport=True`` gql downloads the schema by
introspection, which the DSL needs::

    APPSYNC_URL=... python examples/gql_client.py
"""

from __future__ import annotations

import asyncio
import os

from gql import Client, gql
from gql.dsl import DSLMutation, DSLQuery, DSLSchema, dsl_gql

from appsync_iam import AppSyncIAMTransport


async def main() -> None:
    transport = AppSyncIAMTransport(
        os.environ["APPSYNC_URL"], region=os.environ.get("APPSYNC_REGION")
    )
    client = Client(transport=transport, fetch_schema_from_transport=True)
    async with client as session:
        assert client.schema is not None
        ds = DSLSchema(client.schema)

        # A mutation built with the DSL: checked against the schema locally.
        post = dsl_gql(
            DSLMutation(
                ds.Mutation.postMessage.args(
                    roomId="gql", content="from the DSL"
                ).select(ds.Message.id, ds.Message.roomId, ds.Message.content)
            )
        )
        posted = await session.execute(post)
        print("posted:", posted["postMessage"]["content"])

        # A query built with the DSL.
        query = dsl_gql(
            DSLQuery(
                ds.Query.messagesByRoom.args(roomId="gql").select(
                    ds.MessageConnection.items.select(ds.Message.content)
                )
            )
        )
        result = await session.execute(query)
        print("room gql:", [m["content"] for m in result["messagesByRoom"]["items"]])

        # Plain gql() documents work too, with variables.
        request = gql("query Get($id: ID!) { getMessage(id: $id) { content } }")
        request.variable_values = {"id": posted["postMessage"]["id"]}
        got = await session.execute(request)
        print("fetched:", got["getMessage"]["content"])


if __name__ == "__main__":
    asyncio.run(main())
