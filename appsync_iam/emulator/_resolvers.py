"""The emulator's default data source: an in-memory store driven by field names.

Every sample schema works out of the box with it; resolvers passed to the
emulator (``"Type.field" -> fn(parent, info, **args)``) take precedence.

The convention
==============

The *entity* of a root field is the object type it returns, unwrapped from
lists and non-null; when that type is a connection (an object type with an
``items: [T]`` field, like ``TodoConnection { items nextToken }``) the entity
is ``T``. Items live in one table per entity type, in insertion order.

Arguments become item fields: an input-object argument (``input:
CreateTodoInput!``) is merged in, unless the entity has a field of the same
name (then it is that field's value); other arguments are taken as they are.
``filter``, ``condition``, ``limit``, ``nextToken`` and ``sortDirection`` are
never stored.

Mutations, by the verb the field name starts with:

* ``delete*`` / ``remove*``: delete the item whose ``id`` is given (an ``id``
  argument or ``input.id``) and return it.
* ``update*`` / ``edit*`` / ``modify*`` / ``patch*``: merge the given fields
  into the item with that ``id`` (a ``null`` clears a field), refresh
  ``updatedAt``, return the item.
* ``upsert*`` / ``put*`` / ``save*``: store the item, replacing one with the
  same ``id``.
* anything else (``create*``, ``add*``, ``post*``, ``send*``…): store a new
  item. ``id`` gets a uuid4 when the entity has an ``id`` field and none was
  given (an ``id`` that already exists is refused).

On create, ``createdAt`` and ``updatedAt`` fields of the entity are set to
now when not given, in the field's own type (AWSDateTime: ISO 8601 UTC with
milliseconds, AWSTimestamp: integer seconds, AWSDate, String: ISO 8601).
Updating or deleting an unknown ``id`` fails like AppSync's DynamoDB resolvers
do: ``errorType`` ``DynamoDB:ConditionalCheckFailedException``.

When a mutation returns a scalar (``deleteTodo(id: ID!): ID``) the entity
comes from the field name (``Todo``); the result is ``true`` for Boolean and
the ``id`` otherwise.

Queries, by the shape of the return type:

* a single object (``getTodo(id: ID!): Todo``, ``roomByName(name: String!)``):
  the first item whose fields equal every given argument, or ``null``.
* a list (``messagesByRoom(roomId: ID!): [Message]``) or a connection
  (``listTodos(filter, limit, nextToken): TodoConnection``): the items whose
  fields equal every given argument that names a field of the entity
  (arguments that do not are ignored), then ``filter``, then
  ``sortDirection: DESC`` reverses, then pagination: ``limit`` items (100 by
  default for connections, all for plain lists) from the position encoded in
  the opaque ``nextToken``. A connection is ``{items, nextToken}``;
  ``nextToken`` is ``null`` on the last page. A malformed token gives
  ``errorType`` ``DynamoDB:DynamoDbException``.

``filter`` accepts the Amplify ``Model*FilterInput`` form: ``{field: {eq, ne,
gt, ge, lt, le, between, beginsWith, contains, notContains, attributeExists,
in}}`` combined with ``and``/``or``/``not``.

Nested fields: a value already on the parent wins. Otherwise a field returning
an object ``T`` is looked up by the parent's ``<field>Id`` (``Message.room``
from ``roomId``), and a field returning a list or connection of ``T`` lists
the ``T`` items whose ``<parentType>Id`` (first letter lower-cased) equals the
parent's ``id`` (``Room.messages`` from ``Message.roomId``).

Subscription fields are never resolved here: their payload is the triggering
mutation's result (see :mod:`appsync_iam.emulator._engine`).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import sys
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLType,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

__all__ = ["AppSyncResolverError", "InMemoryDataSource", "Info"]

if TYPE_CHECKING and sys.version_info >= (3, 11):
    Info = GraphQLResolveInfo[Any]
else:
    Info = GraphQLResolveInfo

_CONTROL_ARGS = frozenset(
    {"filter", "condition", "limit", "nextToken", "sortDirection"}
)
_DELETE_VERBS = ("delete", "remove")
_UPDATE_VERBS = ("update", "edit", "modify", "patch")
_UPSERT_VERBS = ("upsert", "put", "save")
_CREATE_VERBS = ("create", "add", "post", "send", "insert", "new", "publish")
_DEFAULT_PAGE = 100
_TIMESTAMP_FIELDS = ("createdAt", "updatedAt")


class AppSyncResolverError(Exception):
    """Raise from a resolver to fail its field the way ``$util.error`` does.

    The GraphQL error then carries ``message``, ``errorType`` (``error_type``),
    ``errorInfo`` (``error_info``, any JSON value) and ``data`` (any JSON
    value), with the field's ``path`` and ``locations``; the field is null.
    """

    def __init__(
        self,
        message: str,
        error_type: str | None = None,
        error_info: Any = None,
        data: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.error_info = error_info
        self.data = data

    def __repr__(self) -> str:
        return f"AppSyncResolverError({self.message!r}, error_type={self.error_type!r})"


def _conditional_check_failed() -> AppSyncResolverError:
    return AppSyncResolverError(
        "The conditional request failed (Service: DynamoDb, Status Code: 400)",
        "DynamoDB:ConditionalCheckFailedException",
    )


def _starts_with_verb(name: str, verbs: tuple[str, ...]) -> str | None:
    """The verb ``name`` starts with (followed by an upper-case letter or end)."""
    for verb in verbs:
        rest = name[len(verb) :]
        if name.startswith(verb) and (not rest or rest[0].isupper()):
            return verb
    return None


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _connection_item_type(type_: GraphQLNamedType) -> GraphQLObjectType | None:
    """``T`` when ``type_`` is a connection ``{ items: [T] ... }``."""
    if not isinstance(type_, GraphQLObjectType):
        return None
    items = type_.fields.get("items")
    if items is None or not is_list_type(get_nullable_type(items.type)):
        return None
    item_type = get_named_type(items.type)
    return item_type if isinstance(item_type, GraphQLObjectType) else None


def _now_for(type_: GraphQLType, now: datetime) -> Any:
    name = get_named_type(type_).name
    if name == "AWSTimestamp":
        return int(now.timestamp())
    if name == "AWSDate":
        return now.date().isoformat()
    if name in ("AWSDateTime", "String"):
        return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return None


def _encode_token(offset: int) -> str:
    raw = json.dumps({"v": 1, "offset": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        offset = json.loads(raw)["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise AppSyncResolverError(
            "Invalid pagination token given.", "DynamoDB:DynamoDbException"
        )
    return offset


def _compare(value: Any, op: str, operand: Any) -> bool:
    try:
        if op == "eq":
            return bool(value == operand)
        if op == "ne":
            return bool(value != operand)
        if op == "attributeExists":
            return (value is not None) == bool(operand)
        if value is None:
            return False
        if op == "gt":
            return bool(value > operand)
        if op == "ge":
            return bool(value >= operand)
        if op == "lt":
            return bool(value < operand)
        if op == "le":
            return bool(value <= operand)
        if op == "between":
            low, high = operand
            return bool(low <= value <= high)
        if op == "beginsWith":
            return isinstance(value, str) and value.startswith(operand)
        if op == "contains":
            return operand in value
        if op == "notContains":
            return operand not in value
        if op == "in":
            return value in operand
    except (TypeError, ValueError):
        return False
    return True  # unknown operators (attributeType, size…) do not filter


def _matches_filter(item: Mapping[str, Any], condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return True
    for key, spec in condition.items():
        if spec is None:
            continue
        if key == "and":
            if not all(_matches_filter(item, c) for c in spec):
                return False
        elif key == "or":
            if spec and not any(_matches_filter(item, c) for c in spec):
                return False
        elif key == "not":
            if _matches_filter(item, spec):
                return False
        elif isinstance(spec, Mapping):
            value = item.get(key)
            for op, operand in spec.items():
                if operand is not None and not _compare(value, op, operand):
                    return False
        elif item.get(key) != spec:
            return False
    return True


class InMemoryDataSource:
    """Tables of items keyed by entity type name, then by ``id``.

    ``tables`` may be read or seeded directly (``put`` is the convenient way).
    """

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}

    # -- public helpers ---------------------------------------------------

    def put(self, type_name: str, item: Mapping[str, Any]) -> dict[str, Any]:
        """Store ``item`` (an ``id`` is generated when missing); return a copy."""
        stored = copy.deepcopy(dict(item))
        entity = self.schema.type_map.get(type_name)
        if isinstance(entity, GraphQLObjectType) and "id" in entity.fields:
            stored.setdefault("id", str(uuid.uuid4()))
        key = str(stored.get("id") or uuid.uuid4())
        self.tables.setdefault(type_name, {})[key] = stored
        return self._out(type_name, stored)

    def items(self, type_name: str) -> list[dict[str, Any]]:
        """Copies of the stored items of ``type_name``, in insertion order."""
        return [
            self._out(type_name, i) for i in self.tables.get(type_name, {}).values()
        ]

    def clear(self) -> None:
        """Forget every item."""
        self.tables.clear()

    # -- resolution -------------------------------------------------------

    def resolve_root(
        self,
        operation: str,
        field: GraphQLField,
        field_name: str,
        args: dict[str, Any],
    ) -> Any:
        """Resolve a Query or Mutation field by the convention above."""
        returned = get_named_type(field.type)
        item_type = _connection_item_type(returned)
        entity: GraphQLObjectType | None = item_type or (
            returned if isinstance(returned, GraphQLObjectType) else None
        )
        if operation == "mutation":
            return self._mutate(field, field_name, args, entity)
        if entity is None:
            return None
        values = self._values(field, args, entity)
        if item_type is not None:
            return self._page(entity, values, args, connection=returned.name)
        if is_list_type(get_nullable_type(field.type)):
            return self._page(entity, values, args, connection=None)
        return self._first(entity, values)

    def resolve_relation(
        self, parent: Mapping[str, Any], info: Info, args: dict[str, Any]
    ) -> Any:
        """Resolve a nested field missing from ``parent`` (see the module doc)."""
        field = info.parent_type.fields[info.field_name]
        returned = get_named_type(field.type)
        item_type = _connection_item_type(returned)
        many = item_type is not None or is_list_type(get_nullable_type(field.type))
        entity = item_type or returned
        if not isinstance(entity, GraphQLObjectType):
            return None
        if not many:
            ref = parent.get(f"{info.field_name}Id")
            return None if ref is None else self._first(entity, {"id": ref})
        parent_id = parent.get("id")
        link = f"{_lower_first(info.parent_type.name)}Id"
        if parent_id is None or link not in entity.fields:
            return None
        values = {link: parent_id}
        connection = returned.name if item_type is not None else None
        return self._page(entity, values, args, connection=connection)

    # -- internals --------------------------------------------------------

    def _out(self, type_name: str, item: Mapping[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(dict(item))
        out["__typename"] = type_name
        return out

    def _values(
        self, field: GraphQLField, args: Mapping[str, Any], entity: GraphQLObjectType
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, value in args.items():
            if name in _CONTROL_ARGS:
                continue
            arg_type = (
                get_named_type(field.args[name].type) if name in field.args else None
            )
            if (
                isinstance(arg_type, GraphQLInputObjectType)
                and name not in entity.fields
                and isinstance(value, Mapping)
            ):
                values.update(value)
            else:
                values[name] = value
        return values

    def _table(self, entity: GraphQLObjectType) -> dict[str, dict[str, Any]]:
        return self.tables.setdefault(entity.name, {})

    def _first(
        self, entity: GraphQLObjectType, values: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        table = self._table(entity)
        if "id" in values:
            item = table.get(str(values["id"]))
            candidates = [] if item is None else [item]
        else:
            candidates = list(table.values())
        for item in candidates:
            if all(item.get(k) == v for k, v in values.items()):
                return self._out(entity.name, item)
        return None

    def _page(
        self,
        entity: GraphQLObjectType,
        values: Mapping[str, Any],
        args: Mapping[str, Any],
        *,
        connection: str | None,
    ) -> Any:
        """Filter and paginate; ``connection``: the connection type's name."""
        criteria = {k: v for k, v in values.items() if k in entity.fields}
        found = [
            item
            for item in self._table(entity).values()
            if all(item.get(k) == v for k, v in criteria.items())
            and _matches_filter(item, args.get("filter"))
        ]
        if str(args.get("sortDirection") or "").upper() == "DESC":
            found.reverse()
        token = args.get("nextToken")
        start = _decode_token(token) if token else 0
        limit = args.get("limit")
        if limit is None:
            limit = _DEFAULT_PAGE if connection is not None else len(found)
        if limit < 0:
            raise AppSyncResolverError(
                "Limit must be a positive number.", "DynamoDB:DynamoDbException"
            )
        end = start + limit
        page = [self._out(entity.name, item) for item in found[start:end]]
        if connection is None:
            return page
        return {
            "__typename": connection,
            "items": page,
            "nextToken": _encode_token(end) if end < len(found) else None,
        }

    def _entity_from_name(self, field_name: str, verb: str) -> GraphQLObjectType | None:
        candidate = field_name[len(verb) :]
        type_ = self.schema.type_map.get(candidate)
        return type_ if isinstance(type_, GraphQLObjectType) else None

    def _mutate(
        self,
        field: GraphQLField,
        field_name: str,
        args: dict[str, Any],
        entity: GraphQLObjectType | None,
    ) -> Any:
        verb = (
            _starts_with_verb(field_name, _DELETE_VERBS)
            or _starts_with_verb(field_name, _UPDATE_VERBS)
            or _starts_with_verb(field_name, _UPSERT_VERBS)
            or _starts_with_verb(field_name, _CREATE_VERBS)
        )
        returns_scalar = entity is None
        if entity is None and verb is not None:
            entity = self._entity_from_name(field_name, verb)
        if entity is None:
            return None
        values = self._values(field, args, entity)
        now = datetime.now(timezone.utc)
        table = self._table(entity)
        if verb in _DELETE_VERBS:
            key = values.get("id")
            if key is None or str(key) not in table:
                raise _conditional_check_failed()
            item = table.pop(str(key))
        elif verb in _UPDATE_VERBS:
            key = values.get("id")
            if key is None or str(key) not in table:
                raise _conditional_check_failed()
            item = table[str(key)]
            item.update(copy.deepcopy(values))
            if "updatedAt" in entity.fields and "updatedAt" not in values:
                item["updatedAt"] = _now_for(entity.fields["updatedAt"].type, now)
        else:
            item = copy.deepcopy(values)
            if "id" in entity.fields and item.get("id") is None:
                item["id"] = str(uuid.uuid4())
            key = str(item.get("id") or uuid.uuid4())
            if verb not in _UPSERT_VERBS and key in table:
                raise _conditional_check_failed()
            for name in _TIMESTAMP_FIELDS:
                if name in entity.fields and item.get(name) is None:
                    stamp = _now_for(entity.fields[name].type, now)
                    if stamp is not None:
                        item[name] = stamp
            table[key] = item
        if returns_scalar:
            if get_named_type(field.type).name == "Boolean":
                return True
            return item.get("id")
        return self._out(entity.name, item)
