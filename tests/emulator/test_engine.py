"""The emulator's GraphQL engine, called directly (no network)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from appsync_iam.emulator._engine import (
    AppSyncResolverError,
    ExecutedOperation,
    GraphQLEngine,
    MissingOperationName,
    SubscriptionHandle,
    SubscriptionRejected,
    load_schema_text,
    sample_schema_path,
)
from appsync_iam.emulator._principal import Principal

ALICE = Principal("AKIDALICE", "alice-secret")
RESTRICTED = Principal(
    "AKIDBOB",
    "bob-secret",
    deny=frozenset(
        {"Message.authorEmail", "Mutation.postMessage", "Subscription.onRoomCreated"}
    ),
)

CREATE_ROOM = (
    "mutation($name: String!) { createRoom(input: {name: $name}) { id name } }"
)
POST = """
mutation Post($room: ID!, $content: String!) {
  postMessage(roomId: $room, content: $content, author: "ann") {
    id roomId content author createdAt
  }
}
"""
ON_POSTED = """
subscription OnPosted($room: ID) {
  onMessagePosted(roomId: $room) { id content roomId }
}
"""
CREATE_TODO = """
mutation($input: CreateTodoInput!) {
  createTodo(input: $input) {
    id title status dueDate owner link metadata priority createdAt updatedAt
  }
}
"""

TINY = """
type Query { hello(name: String): String  n: Int!  when: AWSDateTime  obj: Obj }
type Obj { a: String b: String }
type Mutation { bump(by: Int!): Int  ping: String }
type Subscription { onPing: String @aws_subscribe(mutations: ["ping"]) }
"""


@pytest.fixture
def chat() -> GraphQLEngine:
    """An engine over the chat sample with the default resolvers."""
    return GraphQLEngine(load_schema_text(sample_schema_path("chat")))


@pytest.fixture
def todos() -> GraphQLEngine:
    """An engine over the todos sample with the default resolvers."""
    return GraphQLEngine(load_schema_text(sample_schema_path("todos")))


async def run(
    engine: GraphQLEngine,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = None,
    principal: Principal = ALICE,
) -> dict[str, Any]:
    """Execute and assert the body is JSON-serializable, as the server needs."""
    result = await engine.execute(query, variables, operation_name, principal=principal)
    json.dumps(result)
    return result


async def new_room(engine: GraphQLEngine, name: str = "lobby") -> str:
    """Create a chat room and return its id."""
    result = await run(engine, CREATE_ROOM, {"name": name})
    return str(result["data"]["createRoom"]["id"])


class Inbox:
    """A subscriber's ``send`` that records each payload in a queue."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(self, message: dict[str, Any]) -> None:
        await self.queue.put(message)

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue.get(), timeout=5)


async def subscribe(
    engine: GraphQLEngine,
    inbox: Inbox,
    query: str = ON_POSTED,
    variables: dict[str, Any] | None = None,
    principal: Principal = ALICE,
) -> SubscriptionHandle:
    return await engine.subscribe(
        query, variables, None, principal=principal, send=inbox.send
    )


class TestSchemaLookup:
    """``sample_schema_path`` and ``load_schema_text`` find schemas."""

    @pytest.mark.parametrize("name", ["chat", "todos", "chat.graphql"])
    def test_sample_by_name(self, name: str) -> None:
        """A sample is found by name, with or without the .graphql suffix."""
        path = sample_schema_path(name)
        assert path.is_file() and path.suffix == ".graphql"

    def test_unknown_sample_lists_available_names(self) -> None:
        """An unknown sample name raises an error naming the available samples."""
        with pytest.raises(FileNotFoundError, match=r"chat.*todos"):
            sample_schema_path("nope")

    def test_load_from_path_text_and_name(self, tmp_path: Path) -> None:
        """A Path, a path string, SDL text and a sample name all load SDL."""
        sdl = "type Query { a: Int }\n"
        file = tmp_path / "s.graphql"
        file.write_text(sdl, encoding="utf-8")
        assert load_schema_text(file) == sdl
        assert load_schema_text(str(file)) == sdl
        assert load_schema_text(sdl) == sdl
        assert load_schema_text("type Query { a: Int }") == "type Query { a: Int }"
        assert "onMessagePosted" in load_schema_text("chat")

    def test_missing_file_is_an_error(self, tmp_path: Path) -> None:
        """A string that is no file, no SDL and no sample raises FileNotFoundError."""
        with pytest.raises(FileNotFoundError, match="neither"):
            load_schema_text(str(tmp_path / "missing.graphql"))

    def test_invalid_resolver_key_is_refused(self) -> None:
        """A resolver key that names no field fails at construction."""
        with pytest.raises(ValueError, match="Query.nope"):
            GraphQLEngine(TINY, {"Query.nope": lambda *_: None})


class TestTodosCrud:
    """The default in-memory data source runs the todos sample's CRUD."""

    async def test_create_get_list_update_delete(self, todos: GraphQLEngine) -> None:
        """Create, get, paginate, update and delete work by naming convention."""
        ids = []
        for i in range(5):
            created = await run(
                todos,
                CREATE_TODO,
                {
                    "input": {
                        "title": f"todo {i}",
                        "status": "OPEN",
                        "dueDate": "2025-01-31",
                        "owner": "ann@example.com",
                        "link": "https://example.com/t",
                        "metadata": json.dumps({"n": i}),
                        "priority": i,
                    }
                },
            )
            assert "errors" not in created
            todo = created["data"]["createTodo"]
            assert todo["createdAt"] == todo["updatedAt"]
            assert todo["createdAt"].endswith("Z") and len(todo["id"]) == 36
            assert json.loads(todo["metadata"]) == {"n": i}
            ids.append(todo["id"])

        got = await run(
            todos, "query($id: ID!) { getTodo(id: $id) { title } }", {"id": ids[2]}
        )
        assert got == {"data": {"getTodo": {"title": "todo 2"}}}

        pages: list[list[str]] = []
        token = None
        while True:
            page = await run(
                todos,
                "query($t: String) { listTodos(limit: 2, nextToken: $t)"
                " { items { id } nextToken } }",
                {"t": token},
            )
            listed = page["data"]["listTodos"]
            pages.append([item["id"] for item in listed["items"]])
            token = listed["nextToken"]
            if token is None:
                break
        assert pages == [ids[0:2], ids[2:4], ids[4:5]]

        updated = await run(
            todos,
            "mutation($id: ID!) { updateTodo(input: {id: $id, status: DONE,"
            " description: null})"
            " { id title status description createdAt updatedAt } }",
            {"id": ids[0]},
        )
        todo = updated["data"]["updateTodo"]
        assert (todo["title"], todo["status"]) == ("todo 0", "DONE")
        assert todo["updatedAt"] >= todo["createdAt"]

        deleted = await run(
            todos,
            "mutation($id: ID!) { deleteTodo(input: {id: $id}) { id title } }",
            {"id": ids[0]},
        )
        assert deleted == {"data": {"deleteTodo": {"id": ids[0], "title": "todo 0"}}}
        gone = await run(
            todos, "query($id: ID!) { getTodo(id: $id) { id } }", {"id": ids[0]}
        )
        assert gone == {"data": {"getTodo": None}}

    async def test_filter_on_list(self, todos: GraphQLEngine) -> None:
        """``listTodos(filter:)`` applies Amplify-style conditions."""
        for i in range(6):
            await run(
                todos,
                CREATE_TODO,
                {"input": {"title": f"t{i}", "status": "OPEN", "priority": i}},
            )
        result = await run(
            todos,
            "{ listTodos(filter: {priority: {between: [1, 4]},"
            ' not: {title: {eq: "t2"}}}) { items { title } } }',
        )
        titles = [t["title"] for t in result["data"]["listTodos"]["items"]]
        assert titles == ["t1", "t3", "t4"]

    async def test_update_of_unknown_id_fails_like_dynamodb(
        self, todos: GraphQLEngine
    ) -> None:
        """Updating a missing item gives DynamoDB's conditional-check errorType."""
        result = await run(
            todos, 'mutation { updateTodo(input: {id: "nope", title: "x"}) { id } }'
        )
        assert result["data"] == {"updateTodo": None}
        (error,) = result["errors"]
        assert error["errorType"] == "DynamoDB:ConditionalCheckFailedException"
        assert error["path"] == ["updateTodo"]

    async def test_bad_next_token_is_an_error(self, todos: GraphQLEngine) -> None:
        """A malformed nextToken is a resolver error, not a crash."""
        result = await run(todos, '{ listTodos(nextToken: "garbage!") { nextToken } }')
        assert result["errors"][0]["errorType"] == "DynamoDB:DynamoDbException"

    async def test_seeded_items_are_served(self, todos: GraphQLEngine) -> None:
        """Items put into ``engine.data`` are returned by queries."""
        todos.data.put("Todo", {"id": "t-1", "title": "seeded", "status": "OPEN"})
        result = await run(todos, '{ getTodo(id: "t-1") { title status } }')
        assert result == {"data": {"getTodo": {"title": "seeded", "status": "OPEN"}}}


class TestChat:
    """The chat sample: plain-argument mutations, arg-matching lists, relations."""

    async def test_messages_by_room_and_relations(self, chat: GraphQLEngine) -> None:
        """messagesByRoom filters by roomId; Room.messages and Message.room resolve."""
        lobby = await new_room(chat, "lobby")
        other = await new_room(chat, "other")
        for room, text in [(lobby, "a"), (other, "x"), (lobby, "b")]:
            await run(chat, POST, {"room": room, "content": text})
        by_room = await run(
            chat,
            "query($r: ID!) { messagesByRoom(roomId: $r)"
            " { items { content room { name } } nextToken } }",
            {"r": lobby},
        )
        assert by_room["data"]["messagesByRoom"] == {
            "items": [
                {"content": "a", "room": {"name": "lobby"}},
                {"content": "b", "room": {"name": "lobby"}},
            ],
            "nextToken": None,
        }
        nested = await run(
            chat,
            "query($r: ID!) { getRoom(id: $r) { name messages(limit: 1)"
            " { items { content } nextToken } } }",
            {"r": lobby},
        )
        messages = nested["data"]["getRoom"]["messages"]
        assert messages["items"] == [{"content": "a"}]
        assert messages["nextToken"] is not None


class TestErrorShapes:
    """Errors look like AppSync's: top-level errorType/errorInfo, no extensions."""

    async def test_validation_error_shape(self, chat: GraphQLEngine) -> None:
        """An unknown field gives AppSync's exact validation error body."""
        result = await run(chat, "{badfield}")
        assert result == {
            "data": None,
            "errors": [
                {
                    "path": None,
                    "locations": [{"line": 1, "column": 2, "sourceName": None}],
                    "message": "Validation error of type FieldUndefined: Field"
                    " 'badfield' in type 'Query' is undefined @ 'badfield'",
                }
            ],
        }

    @pytest.mark.parametrize(
        ("query", "kind"),
        [
            ("{ getRoom { id } }", "MissingFieldArgument"),
            ('{ getRoom(id: "1", x: 2) { id } }', "UnknownArgument"),
            ('{ getRoom(id: "1") }', "SubSelectionRequired"),
            ('{ getRoom(id: "1") { id { x } } }', "SubSelectionNotAllowed"),
            ("query($a: Int) { getRoom(id: $a) { id } }", "VariableTypeMismatch"),
            ("{ getRoom(id: $a) { id } }", "UndefinedVariable"),
            ('{ getRoom(id: "1") { nope } }', "FieldUndefined"),
            ("mutation { createRoom(input: {name: 1}) { id } }", "WrongType"),
        ],
    )
    async def test_validation_error_kinds(
        self, chat: GraphQLEngine, query: str, kind: str
    ) -> None:
        """Each validation failure is named with graphql-java's error type."""
        result = await run(chat, query)
        assert result["data"] is None
        error = result["errors"][0]
        assert error["message"].startswith(f"Validation error of type {kind}: ")
        assert error["path"] is None
        assert error["locations"][0]["sourceName"] is None
        assert "extensions" not in error

    async def test_repeated_query_gives_fresh_error_objects(
        self, chat: GraphQLEngine
    ) -> None:
        """Cached documents never leak one response's mutations into the next."""
        first = await run(chat, "{ badfield }")
        first["errors"][0]["message"] = "changed"
        second = await run(chat, "{ badfield }")
        assert second["errors"][0]["message"].startswith("Validation error")

    async def test_variable_error_shape(self, chat: GraphQLEngine) -> None:
        """An invalid variable value is reported like AppSync, with data null."""
        result = await run(
            chat,
            'mutation($e: AWSEmail) { postMessage(roomId: 1, content: "c",'
            " authorEmail: $e) { id } }",
            {"e": "not-an-email"},
        )
        assert result["data"] is None
        (error,) = result["errors"]
        assert error["message"] == (
            "Variable 'e' has an invalid value. Unable to parse `not-an-email`"
            " as a valid Email."
        )
        assert error["path"] is None
        assert error["locations"] == [{"line": 1, "column": 10, "sourceName": None}]

    async def test_missing_required_variable(self, chat: GraphQLEngine) -> None:
        """A missing non-null variable reads like graphql-java's message."""
        result = await run(chat, "query($r: ID!) { getRoom(id: $r) { id } }", {})
        assert result["errors"][0]["message"] == (
            "Variable 'r' has coerced Null value for NonNull type 'ID!'"
        )

    async def test_syntax_error(self, chat: GraphQLEngine) -> None:
        """A syntax error gives data null and an 'Invalid Syntax' message."""
        result = await run(chat, "{ getRoom(id: 1) { id ")
        assert result["data"] is None
        assert result["errors"][0]["message"].startswith("Invalid Syntax : ")
        assert result["errors"][0]["locations"][0]["line"] == 1

    async def test_multiple_operations_need_a_name(self, chat: GraphQLEngine) -> None:
        """Several operations and no operationName raise MissingOperationName."""
        document = (
            "query A { listRooms { nextToken } } query B { getRoom(id: 1) { id } }"
        )
        with pytest.raises(MissingOperationName, match="Missing operation name."):
            await run(chat, document)
        assert issubclass(MissingOperationName, ValueError)
        named = await run(chat, document, operation_name="A")
        assert named == {"data": {"listRooms": {"nextToken": None}}}
        unknown = await run(chat, document, operation_name="C")
        assert unknown["data"] is None
        assert "Unknown operation named 'C'" in unknown["errors"][0]["message"]

    async def test_subscription_over_http_is_an_error(
        self, chat: GraphQLEngine
    ) -> None:
        """A subscription sent to execute() is answered with an error, not run."""
        result = await run(chat, ON_POSTED)
        assert result["data"] is None
        assert result["errors"][0]["errorType"] == "UnsupportedOperation"
        assert chat.executed == []

    async def test_resolver_error_shape(self) -> None:
        """AppSyncResolverError maps to errorType, errorInfo, data, path, locations."""

        def fail(_parent: Any, _info: Any, **_args: Any) -> None:
            raise AppSyncResolverError(
                "custom failure", "Custom:Failure", {"retry": False}, {"partial": 1}
            )

        engine = GraphQLEngine(TINY, {"Query.hello": fail})
        result = await run(engine, "{\n  hello\n  n\n}")
        assert result == {
            "data": None,
            "errors": [
                {
                    "path": ["hello"],
                    "data": {"partial": 1},
                    "errorType": "Custom:Failure",
                    "errorInfo": {"retry": False},
                    "locations": [{"line": 2, "column": 3, "sourceName": None}],
                    "message": "custom failure",
                },
                {
                    "path": ["n"],
                    "locations": None,
                    "message": "Cannot return null for non-nullable type: 'Int'"
                    " within parent 'Query' (/n)",
                },
            ],
        }

    async def test_unexpected_exception_type_becomes_error_type(self) -> None:
        """Any other exception from a resolver gives its class name as errorType."""

        def boom(*_args: Any, **_kw: Any) -> None:
            raise KeyError("missing")

        engine = GraphQLEngine(TINY, {"Query.hello": boom})
        result = await run(engine, "{ hello }")
        assert result["data"] == {"hello": None}
        assert result["errors"][0]["errorType"] == "KeyError"

    async def test_serialization_error_shape(self) -> None:
        """A resolver value its AWS scalar rejects gives AppSync's serialize error."""
        engine = GraphQLEngine(TINY, {"Query.when": lambda *_: "yesterday"})
        result = await run(engine, "{ when }")
        assert result["data"] == {"when": None}
        assert result["errors"] == [
            {
                "path": ["when"],
                "locations": None,
                "message": "Can't serialize value (/when) : Unable to serialize"
                " `yesterday` as a valid DateTime Object.",
            }
        ]


class TestFieldLevelIAM:
    """A principal's deny list works like AppSync field-level authorization."""

    async def test_denied_field_is_null_with_unauthorized(
        self, chat: GraphQLEngine
    ) -> None:
        """A denied nested field is null with errorType Unauthorized; others resolve."""
        room = await new_room(chat)
        await run(chat, POST, {"room": room, "content": "hi"})
        result = await run(
            chat,
            "query($r: ID!) {\n messagesByRoom(roomId: $r) {\n items {\n"
            " content\n authorEmail } } }",
            {"r": room},
            principal=RESTRICTED,
        )
        assert result["data"] == {
            "messagesByRoom": {"items": [{"content": "hi", "authorEmail": None}]}
        }
        assert result["errors"] == [
            {
                "path": ["messagesByRoom", "items", 0, "authorEmail"],
                "data": None,
                "errorType": "Unauthorized",
                "errorInfo": None,
                "locations": [{"line": 5, "column": 2, "sourceName": None}],
                "message": "Not Authorized to access authorEmail on type Message",
            }
        ]

    async def test_denied_mutation_does_not_run(self, chat: GraphQLEngine) -> None:
        """A denied root mutation is not executed, stored or recorded."""
        room = await new_room(chat)
        before = list(chat.executed)
        result = await run(
            chat, POST, {"room": room, "content": "nope"}, principal=RESTRICTED
        )
        assert result["data"] == {"postMessage": None}
        assert result["errors"][0]["errorType"] == "Unauthorized"
        assert result["errors"][0]["message"] == (
            "Not Authorized to access postMessage on type Mutation"
        )
        assert chat.executed == before
        assert chat.data.items("Message") == []

    async def test_denied_query_field_leaves_siblings(self) -> None:
        """Denying Query.x nulls only x; sibling root fields still resolve."""
        engine = GraphQLEngine(TINY, {"Query.hello": lambda *_a, **_k: "hi"})
        principal = Principal("AKID", "s", deny=frozenset({"Query.hello"}))
        result = await run(
            engine, '{ hello(name: "x") obj { a } }', principal=principal
        )
        assert result["data"] == {"hello": None, "obj": None}
        assert [e["errorType"] for e in result["errors"]] == ["Unauthorized"]

    async def test_denied_subscription_is_rejected(self, chat: GraphQLEngine) -> None:
        """Subscribing to a denied field raises SubscriptionRejected(Unauthorized)."""
        with pytest.raises(SubscriptionRejected) as caught:
            await subscribe(
                chat,
                Inbox(),
                "subscription { onRoomCreated { id } }",
                principal=RESTRICTED,
            )
        (error,) = caught.value.errors
        assert error["errorType"] == "Unauthorized"
        assert error["message"] == (
            "Not Authorized to access onRoomCreated on type Subscription"
        )
        assert chat.subscriptions == 0


class TestExecuted:
    """``engine.executed`` records each root field run."""

    async def test_records_root_fields_with_arguments(self) -> None:
        """Each root field of each operation is one entry with coerced arguments."""
        engine = GraphQLEngine(TINY, {"Mutation.bump": lambda _p, _i, by: by})
        await run(engine, "mutation { a: bump(by: 1) b: bump(by: 2) }")
        await run(engine, '{ hello(name: "x") }', principal=RESTRICTED)
        assert engine.executed == [
            ExecutedOperation("mutation", "bump", {"by": 1}, "AKIDALICE"),
            ExecutedOperation("mutation", "bump", {"by": 2}, "AKIDALICE"),
            ExecutedOperation("query", "hello", {"name": "x"}, "AKIDBOB"),
        ]

    async def test_failed_validation_records_nothing(self, chat: GraphQLEngine) -> None:
        """An operation that fails validation runs no field."""
        await run(chat, "mutation { createRoom { id } }")
        assert chat.executed == []


class TestCustomResolvers:
    """Resolvers passed in take precedence over the default data source."""

    async def test_sync_and_async_resolvers_override_defaults(
        self, chat: GraphQLEngine
    ) -> None:
        """Sync and async ``Type.field`` resolvers replace the defaults."""

        def get_room(_parent: Any, _info: Any, id: str) -> dict[str, Any]:
            return {"id": id, "name": "custom", "createdAt": "2020-01-01T00:00Z"}

        async def topic(parent: dict[str, Any], _info: Any) -> str:
            await asyncio.sleep(0)
            return f"topic of {parent['id']}"

        engine = GraphQLEngine(
            load_schema_text("chat"), {"Query.getRoom": get_room, "Room.topic": topic}
        )
        result = await run(engine, '{ getRoom(id: "r9") { id name topic createdAt } }')
        assert result == {
            "data": {
                "getRoom": {
                    "id": "r9",
                    "name": "custom",
                    "topic": "topic of r9",
                    "createdAt": "2020-01-01T00:00Z",
                }
            }
        }

    async def test_objects_with_attributes_resolve(self) -> None:
        """A resolver may return an object; its attributes resolve the fields."""

        class Obj:
            a = "A"

            def b(self, _info: Any) -> str:
                return "B"

        engine = GraphQLEngine(TINY, {"Query.obj": lambda *_: Obj()})
        result = await run(engine, "{ obj { a b } }")
        assert result == {"data": {"obj": {"a": "A", "b": "B"}}}


class TestSubscriptions:
    """Mutations are delivered to matching subscriptions, shaped by their selection."""

    async def test_delivers_to_matching_not_to_other_rooms(
        self, chat: GraphQLEngine
    ) -> None:
        """The roomId argument filters: each subscriber only gets its room's posts."""
        lobby, other = await new_room(chat, "lobby"), await new_room(chat, "other")
        lobby_inbox, other_inbox, all_inbox = Inbox(), Inbox(), Inbox()
        await subscribe(chat, lobby_inbox, variables={"room": lobby})
        await subscribe(chat, other_inbox, variables={"room": other})
        await subscribe(chat, all_inbox)

        await run(chat, POST, {"room": lobby, "content": "to lobby"})
        await run(chat, POST, {"room": other, "content": "to other"})

        assert (await lobby_inbox.next())["data"]["onMessagePosted"]["content"] == (
            "to lobby"
        )
        # Per-subscriber order: had "to lobby" reached `other`, it would come first.
        first_other = await other_inbox.next()
        assert first_other["data"]["onMessagePosted"]["content"] == "to other"
        contents = [
            (await all_inbox.next())["data"]["onMessagePosted"]["content"]
            for _ in range(2)
        ]
        assert contents == ["to lobby", "to other"]
        assert lobby_inbox.queue.empty()

    async def test_selection_set_is_applied(self, chat: GraphQLEngine) -> None:
        """The payload holds exactly the subscription's fields, under its aliases."""
        room = await new_room(chat)
        inbox = Inbox()
        await subscribe(
            chat,
            inbox,
            "subscription($room: ID) { posted: onMessagePosted(roomId: $room)"
            " { text: content author } }",
            {"room": room},
        )
        await run(chat, POST, {"room": room, "content": "hello"})
        assert await inbox.next() == {
            "data": {"posted": {"text": "hello", "author": "ann"}}
        }

    async def test_fields_the_mutation_did_not_select_are_null(
        self, chat: GraphQLEngine
    ) -> None:
        """Like AppSync, only fields selected by the mutation reach subscribers."""
        room = await new_room(chat)
        inbox = Inbox()
        await subscribe(
            chat,
            inbox,
            "subscription($room: ID) { onMessagePosted(roomId: $room)"
            " { roomId content author } }",
            {"room": room},
        )
        await run(
            chat,
            'mutation($r: ID!) { postMessage(roomId: $r, content: "c", author: "x")'
            " { r: roomId content } }",
            {"r": room},
        )
        assert await inbox.next() == {
            "data": {
                "onMessagePosted": {"roomId": room, "content": "c", "author": None}
            }
        }

    async def test_filter_field_not_selected_by_mutation_never_matches(
        self, chat: GraphQLEngine
    ) -> None:
        """A filtered subscription ignores a mutation that did not select the field."""
        room = await new_room(chat)
        filtered, unfiltered = Inbox(), Inbox()
        await subscribe(chat, filtered, variables={"room": room})
        await subscribe(chat, unfiltered, "subscription { onMessagePosted { id } }")
        await run(
            chat,
            'mutation($r: ID!) { postMessage(roomId: $r, content: "c") { id } }',
            {"r": room},
        )
        await run(chat, POST, {"room": room, "content": "full"})
        first = await filtered.next()
        assert first["data"]["onMessagePosted"]["content"] == "full"
        assert (await unfiltered.next())["data"]["onMessagePosted"]["id"]

    async def test_todos_subscriptions(self, todos: GraphQLEngine) -> None:
        """onUpdateTodo(id) receives updates of that todo only; onCreateTodo all."""
        created = Inbox()
        await subscribe(
            todos, created, "subscription { onCreateTodo { title metadata } }"
        )
        first = await run(
            todos,
            CREATE_TODO,
            {"input": {"title": "é\u2028", "status": "OPEN", "metadata": '{"k": "ü"}'}},
        )
        second = await run(
            todos, CREATE_TODO, {"input": {"title": "two", "status": "OPEN"}}
        )
        first_id = first["data"]["createTodo"]["id"]
        second_id = second["data"]["createTodo"]["id"]
        payload = (await created.next())["data"]["onCreateTodo"]
        assert payload["title"] == "é\u2028"
        assert json.loads(payload["metadata"]) == {"k": "ü"}

        updates = Inbox()
        await subscribe(
            todos,
            updates,
            "subscription($id: ID) { onUpdateTodo(id: $id) { id status } }",
            {"id": second_id},
        )
        update = (
            "mutation($id: ID!)"
            " { updateTodo(input: {id: $id, status: DONE}) { id status } }"
        )
        await run(todos, update, {"id": first_id})
        await run(todos, update, {"id": second_id})
        assert await updates.next() == {
            "data": {"onUpdateTodo": {"id": second_id, "status": "DONE"}}
        }

    async def test_close_stops_delivery_and_is_idempotent(
        self, chat: GraphQLEngine
    ) -> None:
        """After close() nothing more is delivered; closing twice is fine."""
        room = await new_room(chat)
        closed_inbox, open_inbox = Inbox(), Inbox()
        handle = await subscribe(chat, closed_inbox, variables={"room": room})
        await subscribe(chat, open_inbox, variables={"room": room})
        assert chat.subscriptions == 2
        handle.close()
        handle.close()
        assert handle.closed and chat.subscriptions == 1
        await run(chat, POST, {"room": room, "content": "after close"})
        await open_inbox.next()
        await asyncio.sleep(0.01)
        assert closed_inbox.queue.empty()

    async def test_slow_subscriber_does_not_block_mutations(
        self, chat: GraphQLEngine
    ) -> None:
        """Mutations complete while a subscriber's send is stuck; order is kept."""
        room = await new_room(chat)
        release = asyncio.Event()
        received: list[str] = []

        async def slow_send(message: dict[str, Any]) -> None:
            await release.wait()
            received.append(message["data"]["onMessagePosted"]["content"])

        await chat.subscribe(
            ON_POSTED, {"room": room}, None, principal=ALICE, send=slow_send
        )
        for i in range(5):
            await asyncio.wait_for(
                run(chat, POST, {"room": room, "content": str(i)}), timeout=2
            )
        assert received == []
        release.set()
        for _ in range(100):
            if len(received) == 5:
                break
            await asyncio.sleep(0.01)
        assert received == ["0", "1", "2", "3", "4"]

    async def test_failing_send_does_not_end_the_subscription(
        self, chat: GraphQLEngine
    ) -> None:
        """An exception from send is logged; later payloads are still delivered."""
        room = await new_room(chat)
        inbox = Inbox()
        calls = 0

        async def flaky(message: dict[str, Any]) -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise ConnectionResetError("gone")
            await inbox.send(message)

        await chat.subscribe(
            ON_POSTED, {"room": room}, None, principal=ALICE, send=flaky
        )
        await run(chat, POST, {"room": room, "content": "lost"})
        await run(chat, POST, {"room": room, "content": "kept"})
        assert (await inbox.next())["data"]["onMessagePosted"]["content"] == "kept"

    async def test_subscribe_is_recorded(self, chat: GraphQLEngine) -> None:
        """A started subscription is recorded in executed with its arguments."""
        await subscribe(chat, Inbox(), variables={"room": "r1"})
        assert chat.executed == [
            ExecutedOperation(
                "subscription", "onMessagePosted", {"roomId": "r1"}, "AKIDALICE"
            )
        ]

    @pytest.mark.parametrize(
        ("query", "variables", "fragment"),
        [
            ("subscription { onMessagePosted { nope } }", None, "FieldUndefined"),
            ("query { listRooms { nextToken } }", None, "not a subscription"),
            (
                "subscription($r: ID!) { onMessagePosted(roomId: $r) { id } }",
                {},
                "coerced Null value",
            ),
            (
                "subscription A { onRoomCreated { id } }"
                " subscription B { onRoomCreated { id } }",
                None,
                "Missing operation name.",
            ),
            ("subscription { onMessagePosted { id ", None, "Invalid Syntax"),
        ],
    )
    async def test_invalid_subscriptions_are_rejected(
        self,
        chat: GraphQLEngine,
        query: str,
        variables: dict[str, Any] | None,
        fragment: str,
    ) -> None:
        """Invalid documents, non-subscriptions and bad variables are rejected."""
        with pytest.raises(SubscriptionRejected) as caught:
            await subscribe(chat, Inbox(), query, variables)
        assert fragment in caught.value.errors[0]["message"]
        assert chat.subscriptions == 0

    async def test_field_without_aws_subscribe_is_rejected(self) -> None:
        """A subscription field no mutation can trigger is refused."""
        engine = GraphQLEngine(
            "type Query { a: Int }\ntype Subscription { lonely: Int }"
        )
        with pytest.raises(SubscriptionRejected, match="aws_subscribe"):
            await subscribe(engine, Inbox(), "subscription { lonely }")

    async def test_custom_subscription_resolver_can_refuse(self) -> None:
        """A Subscription.<field> resolver runs at subscribe time and may refuse."""

        async def guard(_parent: Any, _info: Any, **_args: Any) -> None:
            raise AppSyncResolverError("no pings for you", "Unauthorized")

        engine = GraphQLEngine(TINY, {"Subscription.onPing": guard})
        with pytest.raises(SubscriptionRejected) as caught:
            await subscribe(engine, Inbox(), "subscription { onPing }")
        assert caught.value.errors[0]["errorType"] == "Unauthorized"
        assert caught.value.errors[0]["path"] == ["onPing"]

    async def test_scalar_mutation_result_is_delivered(self) -> None:
        """A mutation returning a scalar delivers that scalar."""
        engine = GraphQLEngine(TINY, {"Mutation.ping": lambda *_: "pong"})
        inbox = Inbox()
        await subscribe(engine, inbox, "subscription { onPing }")
        await run(engine, "mutation { ping }")
        assert await inbox.next() == {"data": {"onPing": "pong"}}


class TestLoops:
    """The engine is not bound to the loop it was created in."""

    def test_usable_from_successive_event_loops(self) -> None:
        """One engine serves operations and subscriptions from two asyncio.run calls."""
        engine = GraphQLEngine(load_schema_text("chat"))

        async def round_trip(name: str) -> dict[str, Any]:
            inbox = Inbox()
            handle = await subscribe(
                engine, inbox, "subscription { onRoomCreated { name } }"
            )
            await run(engine, CREATE_ROOM, {"name": name})
            message = await inbox.next()
            handle.close()
            return message

        assert asyncio.run(round_trip("one")) == {
            "data": {"onRoomCreated": {"name": "one"}}
        }
        assert asyncio.run(round_trip("two")) == {
            "data": {"onRoomCreated": {"name": "two"}}
        }


class TestUnicode:
    """Non-ASCII text, including U+2028, round-trips unchanged."""

    async def test_unicode_round_trip(self, chat: GraphQLEngine) -> None:
        """Room names with emoji, accents and U+2028 come back byte-identical."""
        name = "général 🚀 \u2028 line\u2029sep \u0000x"
        room = await new_room(chat, name)
        result = await run(
            chat, "query($r: ID!) { getRoom(id: $r) { name } }", {"r": room}
        )
        assert result["data"]["getRoom"]["name"] == name
        body = json.dumps(result, ensure_ascii=False)
        assert json.loads(body)["data"]["getRoom"]["name"] == name

    async def test_unicode_in_literals(self, chat: GraphQLEngine) -> None:
        """Escapes and raw non-ASCII in query literals are decoded once."""
        result = await run(
            chat,
            'mutation { createRoom(input: {name: "caf\\u00e9 ☕"}) { name } }',
        )
        assert result["data"]["createRoom"]["name"] == "café ☕"


class TestLoopShutdown:
    """Subscriptions left open when their loop ends do not linger."""

    def test_open_subscription_is_dropped_when_its_loop_ends(self) -> None:
        """asyncio.run ending with a subscription open removes it from the engine."""
        engine = GraphQLEngine(load_schema_text("chat"))
        handles: list[SubscriptionHandle] = []

        async def leave_open() -> None:
            handles.append(await subscribe(engine, Inbox()))

        asyncio.run(leave_open())
        assert engine.subscriptions == 0
        assert handles[0].closed
        handles[0].close()

        async def still_works() -> dict[str, Any]:
            return await run(engine, CREATE_ROOM, {"name": "after"})

        assert asyncio.run(still_works())["data"]["createRoom"]["name"] == "after"
