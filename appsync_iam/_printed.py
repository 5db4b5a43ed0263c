"""Operations of graphql-core documents, printed once per document object.

Used when a caller passes a parsed document (gql's ``gql(...)`` or
graphql-core's ``parse``) rather than a string, so graphql-core is already
loaded; the string path (:mod:`._document`) never imports it.
"""

from __future__ import annotations

import weakref
from typing import Final

from graphql import DocumentNode, OperationDefinitionNode, print_ast

from ._document import Operation

__all__ = ["document_operation"]


def _operation_of(document: DocumentNode, text: str) -> Operation:
    kinds: dict[str | None, str] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else None
            kinds[name] = definition.operation.value
    return Operation(text, kinds)


class _PrintCache:
    """Operation info per document object: gql re-prints on every request (~88 µs).

    Keyed by identity (a DocumentNode's hash walks the whole tree) and held
    weakly, so documents built per request do not pile up.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[DocumentNode], Operation]] = {}

    def get(self, document: DocumentNode) -> Operation:
        key = id(document)
        entry = self._entries.get(key)
        if entry is not None and entry[0]() is document:
            return entry[1]
        operation = _operation_of(document, print_ast(document))
        entries = self._entries

        def forget(ref: weakref.ref[DocumentNode]) -> None:
            current = entries.get(key)
            if current is not None and current[0] is ref:
                del entries[key]

        self._entries[key] = (weakref.ref(document, forget), operation)
        return operation


_documents: Final = _PrintCache()


def document_operation(document: DocumentNode) -> Operation:
    """The cached :class:`Operation` of a parsed graphql-core document."""
    return _documents.get(document)
