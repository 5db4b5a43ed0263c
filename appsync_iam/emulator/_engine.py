"""The emulator's GraphQL engine: AppSync-shaped execution over graphql-core.

The HTTP server and the real-time endpoint both call :class:`GraphQLEngine`:

* :meth:`GraphQLEngine.execute` runs a query or mutation for a principal and
  returns AppSync's response body (``{"data": ...}`` plus ``"errors"`` when
  there are any). It raises only :class:`MissingOperationName` (the server
  answers 400 ``BadRequestException``); every GraphQL-level problem is in the
  body, as AppSync answers it with HTTP 200.
* :meth:`GraphQLEngine.subscribe` registers a subscription and later awaits
  ``send({"data": {...}})`` for each matching mutation result.

Errors look like AppSync's, with no ``extensions`` wrapper:

* resolver errors (:class:`AppSyncResolverError`, field-level IAM denials,
  any other exception from a custom resolver) carry ``path``, ``data``,
  ``errorType``, ``errorInfo``, ``locations`` (each with ``sourceName:
  null``) and ``message``; the field is null and the rest of the data stays.
  Another exception type from a custom resolver gets its class name as
  ``errorType``.
* syntax, validation and variable errors carry ``path: null``,
  ``locations`` and ``message``, phrased like AppSync (graphql-java):
  ``Validation error of type FieldUndefined: Field 'x' in type 'Query' is
  undefined @ 'x'``, ``Variable 'phone' has an invalid value. Unable to parse
  `1` as a valid phone number.``, ``Invalid Syntax : ...``; ``data`` is null.
* a resolver value that its type cannot represent, or a null for a non-null
  field: ``Can't serialize value (/getTodo/dueDate) : ...`` and ``Cannot
  return null for non-nullable type: 'ID' within parent 'Todo'
  (/getTodo/id)``, with ``locations: null``.

Field-level IAM: a ``"Type.field"`` in the principal's ``deny`` resolves to
null with ``errorType: "Unauthorized"`` and ``Not Authorized to access <field>
on type <Type>``; a denied root field's resolver never runs, so a denied
mutation changes nothing and is not recorded in :attr:`GraphQLEngine.executed`.

Subscriptions follow AppSync: a subscription field lists the mutations it
receives in ``@aws_subscribe(mutations: [...])`` (a mutation field's
deprecated ``@aws_publish(subscriptions: [...])`` works too). After a mutation
runs, its result is delivered to each subscription on a listed field whose
non-null arguments all equal the same-named fields of the result (AppSync's
argument filter). The payload is the mutation's *response*, re-shaped by the
subscription's selection set: as on AppSync, a subscriber only receives
fields that the mutation itself selected; fields the subscription asks for
but the mutation did not select come back null (with an error when such a
field is non-null), and a filter argument naming a field the mutation did
not select never matches. A resolver given for ``Subscription.<field>`` runs
once when a client subscribes (raise :class:`AppSyncResolverError` to refuse
the subscription); its return value is ignored. Delivery is queued per
subscriber, in order, so a slow subscriber never blocks a mutation.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import re
from collections import OrderedDict
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
)
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import Any, NamedTuple

from graphql import (
    ArgumentNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    ListValueNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    default_field_resolver,
    execute,
    get_named_type,
    is_leaf_type,
    parse,
    print_ast,
    subscribe,
    validate,
)

from .._schema import AWSScalarSerializationError, build_appsync_schema
from ._principal import Principal
from ._resolvers import AppSyncResolverError, Info, InMemoryDataSource
from ._samples import load_schema_text, sample_schema_path

__all__ = [
    "AppSyncResolverError",
    "ExecutedOperation",
    "GraphQLEngine",
    "InMemoryDataSource",
    "MissingOperationName",
    "SubscriptionHandle",
    "SubscriptionRejected",
    "load_schema_text",
    "sample_schema_path",
]

logger = logging.getLogger("appsync_iam.emulator")

Resolver = Callable[..., Any]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class MissingOperationName(ValueError):
    """Several operations and no ``operationName`` (AppSync: 400 BadRequest)."""

    def __init__(self, message: str = "Missing operation name.") -> None:
        super().__init__(message)


class SubscriptionRejected(Exception):
    """A subscription was refused; ``errors`` holds AppSync-shaped error objects."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "subscription rejected")
        self.errors = errors


class ExecutedOperation(NamedTuple):
    """One root field the engine ran."""

    operation_type: str
    """``"query"``, ``"mutation"`` or ``"subscription"``."""
    field: str
    """The root field's name, e.g. ``"createMessage"``."""
    arguments: dict[str, Any]
    """The coerced argument values."""
    access_key: str
    """The access key id of the principal that ran it."""


# --------------------------------------------------------------------------
# Error shapes
# --------------------------------------------------------------------------


def _locations(error: GraphQLError) -> list[dict[str, Any]] | None:
    if not error.locations:
        return None
    return [
        {"line": loc.line, "column": loc.column, "sourceName": None}
        for loc in error.locations
    ]


def _path_text(path: list[str | int] | None) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f"/{p}" for p in path or [])


def _request_error(message: str, error: GraphQLError | None = None) -> dict[str, Any]:
    """A syntax, validation or variable error: no path, no errorType."""
    return {
        "path": None,
        "locations": _locations(error) if error is not None else None,
        "message": message,
    }


def _unauthorized(field_name: str, type_name: str) -> AppSyncResolverError:
    return AppSyncResolverError(
        f"Not Authorized to access {field_name} on type {type_name}", "Unauthorized"
    )


_NON_NULL_RE = re.compile(
    r"Cannot return null for non-nullable field (?P<parent>\w+)\.(?P<field>\w+)\."
)


def _field_error(error: GraphQLError, schema: GraphQLSchema) -> dict[str, Any]:
    """An error raised while resolving or completing a field."""
    original = error.original_error
    if isinstance(original, AWSScalarSerializationError):
        return {
            "path": error.path,
            "locations": None,
            "message": f"Can't serialize value ({_path_text(error.path)}) : {original}",
        }
    match = _NON_NULL_RE.fullmatch(error.message)
    if match and (original is None or str(original) == error.message):
        parent = schema.get_type(match["parent"])
        field_type = "?"
        if isinstance(parent, GraphQLObjectType) and match["field"] in parent.fields:
            field_type = get_named_type(parent.fields[match["field"]].type).name
        return {
            "path": error.path,
            "locations": None,
            "message": (
                f"Cannot return null for non-nullable type: '{field_type}' within"
                f" parent '{match['parent']}' ({_path_text(error.path)})"
            ),
        }
    error_type: str | None = None
    error_info: Any = None
    data: Any = None
    message = error.message
    if isinstance(original, AppSyncResolverError):
        error_type = original.error_type
        error_info = original.error_info
        data = original.data
        message = original.message
    elif original is not None and not isinstance(original, GraphQLError):
        error_type = type(original).__name__
    return {
        "path": error.path,
        "data": data,
        "errorType": error_type,
        "errorInfo": error_info,
        "locations": _locations(error),
        "message": message,
    }


_VARIABLE_RE = re.compile(
    r"Variable '\$(?P<name>[^']+)' has invalid value(?P<at>[^:]*): (?P<reason>.*)",
    re.DOTALL,
)
_NULL_FOR_NON_NULL_RE = re.compile(
    r"Expected (?:a )?value of non-null type '(?P<type>[^']+)'"
    r" (?:to be provided|not to be None)\."
)

# graphql-core's validation messages → graphql-java's ValidationErrorType and
# description, as AppSync prints them.
_VALIDATION_RULES: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"Cannot query field '(?P<f>[^']+)' on type '(?P<t>[^']+)'\."),
        "FieldUndefined",
        "Field '{f}' in type '{t}' is undefined",
    ),
    (
        re.compile(r"Argument '[^']*\((?P<a>[^:)]+):\)' of type '[^']+' is required"),
        "MissingFieldArgument",
        "Missing field argument {a}",
    ),
    (
        re.compile(r"Unknown argument '(?P<a>[^']+)' on field"),
        "UnknownArgument",
        "Unknown field argument {a}",
    ),
    (
        re.compile(
            r"Field '(?P<f>[^']+)' of type '(?P<t>[^']+)' must have a selection"
        ),
        "SubSelectionRequired",
        "Sub selection required for type {t} of field {f}",
    ),
    (
        re.compile(
            r"Field '(?P<f>[^']+)' must not have a selection since type"
            r" '(?P<t>[^']+)' has no subfields"
        ),
        "SubSelectionNotAllowed",
        "Sub selection not allowed on leaf type {t} of field {f}",
    ),
    (
        re.compile(
            r"Variable '\$(?P<v>[^']+)' of type '(?P<t>[^']+)' used in position"
            r" expecting type '(?P<e>[^']+)'"
        ),
        "VariableTypeMismatch",
        "Variable type '{t}' doesn't match expected type '{e}'",
    ),
    (
        re.compile(r"Variable '\$(?P<v>[^']+)' is not defined"),
        "UndefinedVariable",
        "Undefined variable {v}",
    ),
    (
        re.compile(r"Variable '\$(?P<v>[^']+)' is never used"),
        "UnusedVariable",
        "Unused variable {v}",
    ),
    (
        re.compile(r"There can be only one variable named '\$(?P<v>[^']+)'"),
        "DuplicateVariableName",
        "There can be only one variable named '{v}'",
    ),
    (
        re.compile(r"Unknown fragment '(?P<n>[^']+)'"),
        "UndefinedFragment",
        "Undefined fragment {n}",
    ),
    (
        re.compile(r"Fragment '(?P<n>[^']+)' is never used"),
        "UnusedFragment",
        "Unused fragment {n}",
    ),
    (
        re.compile(r"Fields '(?P<k>[^']+)' conflict because (?P<r>.*?)\. Use"),
        "FieldsConflict",
        "{k}: {r}",
    ),
    (
        re.compile(r"Unknown directive '@(?P<d>[^']+)'"),
        "UnknownDirective",
        "Unknown directive {d}",
    ),
    (re.compile(r"Unknown type '(?P<t>[^']+)'"), "UnknownType", "Unknown type {t}"),
    (
        re.compile(r"There can be only one operation named '(?P<n>[^']+)'"),
        "DuplicateOperationName",
        "There can be only one operation named '{n}'",
    ),
    (
        re.compile(r"This anonymous operation must be the only defined operation"),
        "LoneAnonymousOperationViolation",
        "Anonymous operation with other operations.",
    ),
    (
        re.compile(r".*Subscription.* must select only one top level field"),
        "SubscriptionMultipleRootFields",
        "Subscription operation must have exactly one root field",
    ),
    (
        re.compile(
            r"Fragment cannot be spread here as objects of type '(?P<p>[^']+)'"
            r" can never be of type '(?P<f>[^']+)'"
        ),
        "InvalidFragmentType",
        "Fragment cannot be spread here as objects of type '{p}' can never be of"
        " type '{f}'",
    ),
]


class _DocumentIndex:
    """Where fields and arguments sit in a document, to name error paths."""

    def __init__(self, document: DocumentNode) -> None:
        self.fields: list[tuple[int, int, str]] = []
        self.arguments: list[tuple[int, int, ArgumentNode]] = []
        for definition in document.definitions:
            selection_set = getattr(definition, "selection_set", None)
            if isinstance(selection_set, SelectionSetNode):
                self._walk(selection_set, [])

    def _walk(self, selection_set: SelectionSetNode, path: list[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                here = [*path, selection.name.value]
                if selection.loc is not None:
                    self.fields.append(
                        (selection.loc.start, selection.loc.end, "/".join(here))
                    )
                for argument in selection.arguments or ():
                    if argument.loc is not None:
                        self.arguments.append(
                            (argument.loc.start, argument.loc.end, argument)
                        )
                if selection.selection_set is not None:
                    self._walk(selection.selection_set, here)
            elif isinstance(selection, InlineFragmentNode):
                self._walk(selection.selection_set, path)

    def field_path(self, position: int) -> str | None:
        best: tuple[int, str] | None = None
        for start, end, path in self.fields:
            if start <= position < end and (best is None or start >= best[0]):
                best = (start, path)
        return None if best is None else best[1]

    def argument(self, position: int) -> ArgumentNode | None:
        best: tuple[int, ArgumentNode] | None = None
        for start, end, node in self.arguments:
            if start <= position < end and (best is None or start >= best[0]):
                best = (start, node)
        return None if best is None else best[1]


def _validation_error(error: GraphQLError, index: _DocumentIndex) -> dict[str, Any]:
    position = next(iter(error.positions), None) if error.positions else None
    at = index.field_path(position) if position is not None else None
    for pattern, rule_type, template in _VALIDATION_RULES:
        match = pattern.search(error.message)
        if match:
            error_type = rule_type
            description = template.format(**match.groupdict())
            break
    else:
        error_type = "WrongType"
        argument = index.argument(position) if position is not None else None
        if argument is not None:
            description = (
                f"argument '{argument.name.value}' with value"
                f" '{print_ast(argument.value)}' is not valid: {error.message}"
            )
        else:
            description = error.message
    message = f"Validation error of type {error_type}: {description}"
    if at:
        message += f" @ '{at}'"
    return _request_error(message, error)


def _variable_error(error: GraphQLError) -> dict[str, Any]:
    match = _VARIABLE_RE.fullmatch(error.message)
    if not match:
        return _request_error(error.message, error)
    name, reason = match["name"], match["reason"]
    null = _NULL_FOR_NON_NULL_RE.fullmatch(reason)
    if null and not match["at"]:
        message = f"Variable '{name}' has coerced Null value for NonNull type" + (
            f" '{null['type']}'"
        )
    else:
        message = f"Variable '{name}' has an invalid value. {reason}"
    return _request_error(message, error)


def _syntax_error(error: GraphQLError) -> dict[str, Any]:
    description = error.message.removeprefix("Syntax Error: ").rstrip(".")
    where = ""
    if error.locations:
        where = f" at line {error.locations[0].line} column {error.locations[0].column}"
    return _request_error(f"Invalid Syntax : {description}{where}", error)


# --------------------------------------------------------------------------
# Mutation results → subscription payloads
# --------------------------------------------------------------------------


def _fields_of(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields_of(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                yield from _fields_of(fragment.selection_set, fragments)


def _merge(into: dict[str, Any], name: str, value: Any) -> None:
    current = into.get(name)
    if isinstance(current, dict) and isinstance(value, dict):
        for key, item in value.items():
            _merge(current, key, item)
    elif name not in into or current is None:
        into[name] = value


def _by_field_name(
    selection_set: SelectionSetNode | None,
    value: Any,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Any:
    """The response ``value`` re-keyed from aliases to field names."""
    if selection_set is None or value is None:
        return value
    if isinstance(value, list):
        return [_by_field_name(selection_set, item, fragments) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for node in _fields_of(selection_set, fragments):
        key = node.alias.value if node.alias else node.name.value
        if key in value:
            child = _by_field_name(node.selection_set, value[key], fragments)
            _merge(out, node.name.value, child)
    return out


def _string_list(node: Node | None) -> list[str]:
    if isinstance(node, ListValueNode):
        return [v.value for v in node.values if isinstance(v, StringValueNode)]
    if isinstance(node, StringValueNode):
        return [node.value]
    return []


def _directive_list(
    field_def: GraphQLField, directive: str, argument: str
) -> list[str]:
    node = field_def.ast_node
    for applied in getattr(node, "directives", None) or ():
        if applied.name.value == directive:
            for arg in applied.arguments or ():
                if arg.name.value == argument:
                    return _string_list(arg.value)
    return []


# --------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------


_DOCUMENT_CACHE_SIZE = 512


class _Parsed(NamedTuple):
    """A parsed document (None on a syntax error) and its request errors."""

    document: DocumentNode | None
    operations: tuple[OperationDefinitionNode, ...]
    errors: list[dict[str, Any]]


@dataclass(eq=False)
class _Subscriber:
    field_name: str
    principal: Principal
    send: Send
    arguments: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, Any] = field(default_factory=dict)
    queue: asyncio.Queue[dict[str, Any]] | None = None
    task: asyncio.Task[None] | None = None
    closed: bool = False

    async def events(self) -> AsyncGenerator[dict[str, Any], None]:
        assert self.queue is not None
        while True:
            yield await self.queue.get()


@dataclass(eq=False)
class _Context:
    principal: Principal
    delivery: bool = False
    subscriber: _Subscriber | None = None


class SubscriptionHandle:
    """A live subscription; :meth:`close` stops delivery (idempotent)."""

    def __init__(self, engine: GraphQLEngine, subscriber: _Subscriber) -> None:
        self._engine = engine
        self._subscriber = subscriber

    @property
    def field(self) -> str:
        """The subscription's root field name."""
        return self._subscriber.field_name

    @property
    def arguments(self) -> dict[str, Any]:
        """The subscription's coerced arguments (its filter)."""
        return dict(self._subscriber.arguments)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._subscriber.closed

    def close(self) -> None:
        """Stop delivering; pending payloads are dropped. Safe to call twice."""
        subscriber = self._subscriber
        if subscriber.closed:
            return
        subscriber.closed = True
        with contextlib.suppress(ValueError):
            self._engine._subscribers.remove(subscriber)
        if subscriber.task is not None and not subscriber.task.done():
            with contextlib.suppress(RuntimeError):  # its loop is already closed
                subscriber.task.cancel()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<SubscriptionHandle {self.field} {self.arguments!r} {state}>"


class GraphQLEngine:
    """Runs AppSync GraphQL over a schema, with resolvers and in-memory data.

    ``sdl``: the schema text (the AppSync prelude is added). ``resolvers``:
    ``"Type.field" -> fn(parent, info, **args)``, sync or async, taking
    precedence over the default in-memory data source
    (:class:`~appsync_iam.emulator._resolvers.InMemoryDataSource`, available
    as :attr:`data`).

    Usable from any event loop; it holds no loop-bound object until a
    subscription starts.
    """

    def __init__(
        self, sdl: str, resolvers: Mapping[str, Callable[..., Any]] | None = None
    ) -> None:
        self.schema: GraphQLSchema = build_appsync_schema(sdl)
        self.data = InMemoryDataSource(self.schema)
        #: Every root field run, in order (one entry per root field).
        self.executed: list[ExecutedOperation] = []
        self._resolvers: dict[str, Callable[..., Any]] = dict(resolvers or {})
        self._check_resolver_names()
        self._subscribers: list[_Subscriber] = []
        self._documents: OrderedDict[str, _Parsed] = OrderedDict()
        #: mutation field name → subscription field names it triggers.
        self.triggers: dict[str, set[str]] = {}
        self._install_resolvers()

    # -- setup ------------------------------------------------------------

    def _check_resolver_names(self) -> None:
        for key in self._resolvers:
            type_name, _, field_name = key.partition(".")
            type_ = self.schema.get_type(type_name)
            if not isinstance(type_, GraphQLObjectType) or field_name not in (
                type_.fields
            ):
                raise ValueError(
                    f"resolver {key!r} does not name a field of an object type"
                    " (expected 'Type.field')"
                )

    def _install_resolvers(self) -> None:
        subscription = self.schema.subscription_type
        mutation = self.schema.mutation_type
        for type_ in self.schema.type_map.values():
            if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
                continue
            for name, field_def in type_.fields.items():
                field_def.resolve = self._make_resolver(type_.name, name, field_def)
                if type_ is subscription:
                    field_def.subscribe = self._make_source(name)
                    for mutation_name in _directive_list(
                        field_def, "aws_subscribe", "mutations"
                    ):
                        self.triggers.setdefault(mutation_name, set()).add(name)
                if type_ is mutation:
                    for subscription_name in _directive_list(
                        field_def, "aws_publish", "subscriptions"
                    ):
                        self.triggers.setdefault(name, set()).add(subscription_name)

    def _make_resolver(
        self, type_name: str, field_name: str, field_def: GraphQLField
    ) -> Callable[..., Any]:
        key = f"{type_name}.{field_name}"
        custom = self._resolvers.get(key)
        data = self.data
        executed = self.executed

        def resolve(parent: Any, info: Info, **args: Any) -> Any:
            context: _Context = info.context
            if key in context.principal.deny:
                raise _unauthorized(field_name, type_name)
            is_root = info.path.prev is None
            if context.delivery:
                if is_root:
                    return parent
                return _lookup(parent, info, args, None)
            if is_root:
                operation = info.operation.operation.value
                executed.append(
                    ExecutedOperation(
                        operation, field_name, dict(args), context.principal.access_key
                    )
                )
            if custom is not None:
                return custom(parent, info, **args)
            if is_root:
                operation = info.operation.operation.value
                return data.resolve_root(operation, field_def, field_name, args)
            return _lookup(parent, info, args, data)

        return resolve

    def _make_source(self, field_name: str) -> Callable[..., Any]:
        custom = self._resolvers.get(f"Subscription.{field_name}")

        async def source(
            parent: Any, info: Info, **args: Any
        ) -> AsyncIterator[dict[str, Any]]:
            context: _Context = info.context
            subscriber = context.subscriber
            assert subscriber is not None
            if custom is not None:
                result = custom(parent, info, **args)
                if isawaitable(result):
                    await result
            subscriber.arguments = dict(args)
            field_def = info.parent_type.fields[field_name]
            for name, value in args.items():
                if value is None:
                    continue
                arg_type = get_named_type(field_def.args[name].type)
                if is_leaf_type(arg_type):
                    with contextlib.suppress(Exception):
                        value = arg_type.coerce_output_value(value)
                subscriber.expected[name] = value
            return subscriber.events()

        return source

    # -- queries and mutations -------------------------------------------

    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        principal: Principal,
    ) -> dict[str, Any]:
        """Run a query or mutation; return AppSync's response body.

        Raises :class:`MissingOperationName` when the document holds several
        operations and ``operation_name`` is None.
        """
        prepared = self._prepare(query, operation_name)
        if isinstance(prepared, list):
            return {"data": None, "errors": prepared}
        document, operation = prepared
        if operation.operation == OperationType.SUBSCRIPTION:
            return {
                "data": None,
                "errors": [
                    {
                        "path": None,
                        "data": None,
                        "errorType": "UnsupportedOperation",
                        "errorInfo": None,
                        "locations": [
                            {**loc, "sourceName": None}
                            for loc in _node_locations(operation)
                        ],
                        "message": "Subscriptions are not supported over HTTP;"
                        " subscribe through the real-time endpoint.",
                    }
                ],
            }
        raw_variables: Any = variables
        if raw_variables is not None and not isinstance(raw_variables, Mapping):
            return {
                "data": None,
                "errors": [_request_error("Variables must be a JSON object.")],
            }
        context = _Context(principal=principal)
        result = execute(
            self.schema,
            document,
            context_value=context,
            variable_values=dict(variables) if variables is not None else None,
            operation_name=operation_name,
        )
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        response = self._response(result, document)
        if operation.operation == OperationType.MUTATION and result.data:
            self._publish(document, operation, result.data)
        return response

    def _parsed(self, query: str) -> _Parsed:
        """Parse and validate ``query``, remembering recent documents."""
        cached = self._documents.get(query)
        if cached is not None:
            self._documents.move_to_end(query)
            return cached
        try:
            document = parse(query)
        except GraphQLSyntaxError as error:
            parsed = _Parsed(None, (), [_syntax_error(error)])
        else:
            operations = tuple(
                d
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode)
            )
            errors = validate(self.schema, document)
            index = _DocumentIndex(document) if errors else None
            parsed = _Parsed(
                document,
                operations,
                [_validation_error(e, index) for e in errors if index is not None],
            )
        self._documents[query] = parsed
        if len(self._documents) > _DOCUMENT_CACHE_SIZE:
            self._documents.popitem(last=False)
        return parsed

    def _prepare(
        self, query: str, operation_name: str | None
    ) -> tuple[DocumentNode, OperationDefinitionNode] | list[dict[str, Any]]:
        """Parse, pick the operation and validate; errors as AppSync shapes."""
        parsed = self._parsed(query)
        if parsed.document is None:
            return copy.deepcopy(parsed.errors)
        if operation_name is None and len(parsed.operations) > 1:
            raise MissingOperationName()
        if parsed.errors:
            return copy.deepcopy(parsed.errors)
        for operation in parsed.operations:
            if operation_name is None or (
                operation.name is not None and operation.name.value == operation_name
            ):
                return parsed.document, operation
        if operation_name is None:
            return [_request_error("Must provide an operation.")]
        return [_request_error(f"Unknown operation named '{operation_name}'.")]

    def _response(
        self, result: ExecutionResult, document: DocumentNode
    ) -> dict[str, Any]:
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            errors = []
            for error in result.errors:
                if error.path is None:
                    errors.append(_variable_error(error))
                else:
                    errors.append(_field_error(error, self.schema))
            response["errors"] = errors
        return response

    # -- subscriptions ----------------------------------------------------

    async def subscribe(
        self,
        query: str,
        variables: Mapping[str, Any] | None,
        operation_name: str | None,
        *,
        principal: Principal,
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> SubscriptionHandle:
        """Register a subscription; raise :class:`SubscriptionRejected` if invalid.

        Each later matching mutation result is delivered by awaiting
        ``send({"data": {<field>: {...}}})`` from a task of its own, in order.
        """
        try:
            prepared = self._prepare(query, operation_name)
        except MissingOperationName as error:
            raise SubscriptionRejected([_request_error(str(error))]) from None
        if isinstance(prepared, list):
            raise SubscriptionRejected(prepared)
        document, operation = prepared
        if operation.operation != OperationType.SUBSCRIPTION:
            raise SubscriptionRejected(
                [
                    _request_error(
                        f"Operation type '{operation.operation.value}' is not a"
                        " subscription; only subscriptions can be started here."
                    )
                ]
            )
        raw_variables: Any = variables
        if raw_variables is not None and not isinstance(raw_variables, Mapping):
            raise SubscriptionRejected(
                [_request_error("Variables must be a JSON object.")]
            )
        root = next(_fields_of(operation.selection_set, _fragments(document)))
        field_name = root.name.value
        subscription_type = self.schema.subscription_type
        assert subscription_type is not None  # validation passed
        field_def = subscription_type.fields[field_name]
        if f"{subscription_type.name}.{field_name}" in principal.deny:
            denied = _unauthorized(field_name, subscription_type.name)
            raise SubscriptionRejected(
                [
                    {
                        "path": [root.alias.value if root.alias else field_name],
                        "data": None,
                        "errorType": denied.error_type,
                        "errorInfo": None,
                        "locations": [
                            {**loc, "sourceName": None} for loc in _node_locations(root)
                        ],
                        "message": denied.message,
                    }
                ]
            )
        if not _directive_list(field_def, "aws_subscribe", "mutations") and not any(
            field_name in names for names in self.triggers.values()
        ):
            raise SubscriptionRejected(
                [
                    _request_error(
                        f"Subscription field '{field_name}' has no"
                        " @aws_subscribe(mutations: [...]) directive; no mutation"
                        " can trigger it."
                    )
                ]
            )

        subscriber = _Subscriber(field_name=field_name, principal=principal, send=send)
        subscriber.queue = asyncio.Queue()
        context = _Context(principal=principal, delivery=True, subscriber=subscriber)
        stream: Any = subscribe(
            self.schema,
            document,
            context_value=context,
            variable_values=dict(variables) if variables is not None else None,
            operation_name=operation_name,
        )
        if isawaitable(stream):
            stream = await stream
        if isinstance(stream, ExecutionResult):
            raise SubscriptionRejected(self._response(stream, document)["errors"])
        subscriber.task = asyncio.get_running_loop().create_task(
            self._pump(subscriber, stream, document),
            name=f"appsync-emulator-subscription-{field_name}",
        )
        self._subscribers.append(subscriber)
        self.executed.append(
            ExecutedOperation(
                "subscription",
                field_name,
                dict(subscriber.arguments),
                principal.access_key,
            )
        )
        return SubscriptionHandle(self, subscriber)

    async def _pump(
        self,
        subscriber: _Subscriber,
        stream: AsyncIterator[ExecutionResult],
        document: DocumentNode,
    ) -> None:
        try:
            async for result in stream:
                payload = self._response(result, document)
                try:
                    await subscriber.send(payload)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.debug(
                        "subscription %s: send failed",
                        subscriber.field_name,
                        exc_info=True,
                    )
        finally:
            # Also reached when the loop shuts down with the subscription open:
            # a subscriber without its task must not linger.
            subscriber.closed = True
            with contextlib.suppress(ValueError):
                self._subscribers.remove(subscriber)
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()

    def _publish(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        data: dict[str, Any],
    ) -> None:
        if not self._subscribers:
            return
        fragments = _fragments(document)
        for node in _fields_of(operation.selection_set, fragments):
            targets = self.triggers.get(node.name.value)
            key = node.alias.value if node.alias else node.name.value
            if not targets or data.get(key) is None:
                continue
            payload = _by_field_name(node.selection_set, data[key], fragments)
            for subscriber in list(self._subscribers):
                if (
                    not subscriber.closed
                    and subscriber.field_name in targets
                    and _matches(subscriber, payload)
                    and subscriber.queue is not None
                ):
                    subscriber.queue.put_nowait(payload)

    @property
    def subscriptions(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscribers)

    def close_subscriptions(self) -> None:
        """Close every open subscription (for shutdown)."""
        for subscriber in list(self._subscribers):
            SubscriptionHandle(self, subscriber).close()


def _matches(subscriber: _Subscriber, payload: Any) -> bool:
    if not isinstance(payload, Mapping):
        return not subscriber.expected
    for name, expected in subscriber.expected.items():
        if name not in payload or payload[name] != expected:
            return False
    return True


def _lookup(
    parent: Any,
    info: Info,
    args: dict[str, Any],
    data: InMemoryDataSource | None,
) -> Any:
    if isinstance(parent, Mapping):
        if info.field_name in parent:
            return parent[info.field_name]
        if data is None:
            return None
        return data.resolve_relation(parent, info, args)
    return default_field_resolver(parent, info, **args)


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {
        d.name.value: d
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }


def _node_locations(node: Node) -> list[dict[str, int]]:
    if node.loc is None:
        return []
    token = node.loc.start_token
    return [{"line": token.line, "column": token.column}]
