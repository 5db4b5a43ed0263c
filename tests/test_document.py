r"""``parse_operation`` against graphql-core's ``parse``, the reference.

Every document is given to both. They must agree on accepting or rejecting
it and, when they accept it, on the name and type of each operation. When
both reject it, the message and the line and column must be graphql-core's,
but for the few deliberate differences listed in ``DELIBERATE_DIFFERENCES``.

Two rules go beyond graphql-core and are checked on their own: a document
with type-system definitions is rejected (graphql-core parses it), and so is
a document without any operation.

The documents come from a hand-written corpus (every lexer and grammar rule,
valid and invalid) and from hypothesis: documents generated from the
executable grammar, and single-character or single-token mutations of them.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from graphql import (
    ExecutableDefinitionNode,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    parse,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appsync_iam._document import MAX_NESTING_DEPTH, Operation, parse_operation
from appsync_iam._errors import ConfigurationError

DOCUMENT_MODULE = (
    Path(__file__).resolve().parent.parent / "appsync_iam" / "_document.py"
)

TYPE_SYSTEM = "not an executable GraphQL document"
NO_OPERATION = "no operation to run"


# --- the reference and the comparison --------------------------------------------


@contextmanager
def _stack_room() -> Iterator[None]:
    """Room for graphql-core's recursion up to its nesting limit of 200.

    Its parser takes about 4 frames a level: at the limit, a test runner's
    own frames could exhaust the default limit of 1000 first, which
    graphql-core would then report at another position.
    """
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 5000))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


@dataclass(frozen=True)
class Reference:
    """What graphql-core makes of a document."""

    kinds: list[tuple[str | None, str]] | None  # None: a syntax error
    executable: bool = True  # only operations and fragments
    error: str | None = None  # our message for graphql-core's syntax error


def reference(text: str) -> Reference:
    try:
        with _stack_room():
            document = parse(text, no_location=True)
    except GraphQLSyntaxError as exc:
        line, column = exc.locations[0]  # type: ignore[index]
        return Reference(
            None,
            error=f"the query is not valid GraphQL: {exc.message} "
            f"(at line {line}, column {column}); nothing was sent",
        )
    kinds: dict[str | None, str] = {}
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            name = definition.name.value if definition.name else None
            kinds[name] = definition.operation.value
    executable = all(
        isinstance(definition, ExecutableDefinitionNode)
        for definition in document.definitions
    )
    return Reference(list(kinds.items()), executable)


def ours(text: str) -> Operation | str:
    """Our operation, or our error message."""
    try:
        return parse_operation(text)
    except ConfigurationError as exc:
        return str(exc)


def compare(text: str) -> bool | None:
    """Assert that we agree with graphql-core on ``text``.

    Returns None if graphql-core accepts ``text``, else whether our message
    (and location) is graphql-core's.
    """
    expected = reference(text)
    result = ours(text)
    if expected.kinds is None:
        assert isinstance(result, str), f"graphql-core rejects, we accept {text!r}"
        return result == expected.error
    if not expected.executable:
        assert isinstance(result, str), f"type-system definition accepted: {text!r}"
        assert TYPE_SYSTEM in result, result
    elif not expected.kinds:
        assert isinstance(result, str), f"no operation, accepted: {text!r}"
        assert NO_OPERATION in result, result
    else:
        assert isinstance(result, Operation), f"we reject {text!r}: {result}"
        assert list(result.kinds.items()) == expected.kinds
        assert result.text is text
    return None


# --- the corpus ------------------------------------------------------------------

DEEP = MAX_NESTING_DEPTH

VALID = {
    # operations
    "shorthand": "{ a }",
    "query": "query { a }",
    "named query": "query Q { a }",
    "mutation": "mutation M { a }",
    "subscription": "subscription S { a }",
    "anonymous subscription": "subscription { a }",
    "variables": "query Q($a: Int) { a(x: $a) }",
    "variable types": "query Q($a: [[Int!]!], $b: T!, $c: [T]) { a }",
    "default values": 'query Q($a: Int = 1, $b: [S!]! = ["x"], $c: I = {f: 1.5}) { a }',
    "null and enum defaults": "query ($a: Int = null, $b: E = ENUM_V) { a }",
    "variable directives": "query Q($a: Int @d, $b: Int = 2 @d(x: 1) @e) { a }",
    "operation directives": "query Q @d @e(x: $v) { a }",
    "operation with everything": "mutation M($a: I = {b: [1]}) @d(x: $a) { a }",
    # selections
    "alias": "{ alias: field }",
    "field with everything": "{ x: a(b: 1) @d { c } }",
    "nested fields": "{ a { b { c } } }",
    "fragment spread": "{ ...F } fragment F on T { a }",
    "inline fragments": "{ ... on T { a } ... { b } ... @include(if: true) { c } }",
    "inline fragment directives": "{ ... on T @a @b(c: 1) { d } }",
    "spread directives": "{ ...F @d } fragment F on T @d { a }",
    "fragment before operation": "fragment F on T { a } query { ...F }",
    "fragments using fragments": "query Q { ...G } fragment F on T { a } "
    "fragment G on T { ...F }",
    "empty selection set": "{ }",
    "empty nested selection set": "query { a { } }",
    # values
    "ints": "{ a(x: 1, y: -1, z: 0, w: -0, v: 1234567890123456789) }",
    "floats": "{ a(x: 1.5, y: -0.0, z: 1e10, w: 1E-10, v: 1.5e+3, u: 0.0, t: 1.0e0) }",
    "numbers without spaces": "{a(x:1,y:-2.5){b}}",
    "strings": '{ a(x: "", y: "abc", z: "é😀", w: "on") }',
    "escapes": r'{ a(x: "\" \\ \/ \b \f \n \r \t") }',
    "unicode escapes": r'{ a(x: "\u00e9 \u{1F600} \u{0} \u{10FFFF} \uD83D\uDE00") }',
    "lowercase hex escapes": r'{ a(x: "\u00ff\u{1f600}\ud83d\ude00") }',
    "control character in a string": '{ a(x: "\x01\x7f") }',
    "surrogate pair in a string": '{ a(x: "\ud83d\ude00") }',
    "line separator in a string": '{ a(x: "\u2028") }',
    "block string": '{ a(x: """block "quoted" \\""" text""") }',
    "empty block string": '{ a(x: """""") }',
    "multi-line block string": '{ a(x: """\n  a\n    b\n""") }',
    "block string with CRLF": '{ a(x: """a\r\n  b\rc""") }',
    "booleans, null, enum": "{ a(x: true, y: false, z: null, w: ENUM) }",
    "keyword enums": "{ a(x: on, y: fragment, z: query) }",
    "lists": "{ a(x: [], y: [1, [2, [3]]], z: [$v]) }",
    "objects": "{ a(x: {}, y: {a: 1, b: {c: [1]}}) }",
    "variables in values": "{ a(x: {b: [$v, {c: $w}]}) }",
    "variable with spaces": "{ a(x: $ v) }",
    # names
    "keywords as fields": "{ query mutation subscription fragment on type true "
    "false null extend schema scalar input enum union interface directive }",
    "on as names": "{ on: on(on: on) }",
    "keyword operation names": "query query { a } mutation mutation { b } "
    "subscription on { c }",
    "keyword fragment names": "fragment query on on { a } { ...query }",
    "type condition on": "{ ... on on { a } }",
    "underscores and digits": "{ _a1: b_2(_: __) }",
    "long name": "{ " + "a" * 300 + " }",
    # several operations
    "three operations": "query A { a } mutation B { b } subscription C { c }",
    "duplicate names": "query A { a } mutation A { b }",
    "two anonymous": "{ a } { b }",
    "anonymous and named": "{ a } query B { b }",
    # descriptions (graphql-core 3.3 parses them on executable definitions)
    "operation description": '"desc" query Q { a }',
    "block description": '"""desc""" mutation M { a }',
    "fragment description": '{ ...F } "d" fragment F on T { a }',
    "variable descriptions": 'query Q("d" $a: Int, """e""" $b: Int) { a }',
    # ignored tokens
    "comments": "# comment\n{ a # c\n }",
    "comment at the end": "{ a } # no newline",
    "commas everywhere": ",,{,a,,b,},",
    "byte order mark": "\ufeff{ a }",
    "BOM inside": "{ a \ufeff b }",
    "tabs": "\tquery\tQ\t{\ta\t}",
    "CRLF": "query Q {\r\n a\r\n}\r\n",
    "CR": "query Q {\r a\r}",
    "control character in a comment": "# \x01\x7f\n{ a }",
    "emoji in a comment": "{ a } # 😀",
    "surrogate pair in a comment": "# \ud83d\ude00\n{ a }",
    # nesting at graphql-core's limit (a value in a selection set: one less)
    "deepest selection sets": "{" + "a{" * (DEEP - 1) + "b" + "}" * DEEP,
    "deepest list": "{a(x:" + "[" * (DEEP - 1) + "]" * (DEEP - 1) + ")}",
    "deepest object": "{a(x:" + "{a:" * (DEEP - 1) + "1" + "}" * (DEEP - 1) + ")}",
    "deepest list type": "query($x:" + "[" * DEEP + "I" + "]" * DEEP + "){a}",
}

INVALID = {
    # documents and definitions
    "empty": "",
    "white space only": " \n\t,",
    "BOM only": "\ufeff",
    "comment only": "# only a comment",
    "unclosed": "{",
    "unclosed field": "{ a",
    "extra brace": "{ a }}",
    "operation type only": "query",
    "name only": "query Q",
    "trailing operation type": "{ a } query",
    "unknown operation type": "Query { a }",
    "trailing name": "query Q { a } extra",
    "trailing int": "{ a } 123",
    "trailing bracket": "{ a } [",
    "unclosed second operation": "{ a } { b",
    "name after operation type is a string": 'query "desc" Q { a }',
    # descriptions
    "description on shorthand": '"desc" { a }',
    "description only": '"desc"',
    "trailing string": '{ a } "s"',
    "description on a name": '"desc" foo { a }',
    "block description on a name": '{ a } """b"""  x',
    "description on extend": '"desc" extend type T @d',
    "extend without a type": "extend foo",
    "extend alone": "extend",
    # variables
    "open variables": "query Q(",
    "empty variables": "query Q() { a }",
    "variable without type": "query Q($a) { a }",
    "variable without type name": "query Q($a:) { a }",
    "variable without $": "query Q(a: Int) { a }",
    "variable default is a variable": "query Q($a: Int = $b) { a }",
    "variable in a constant list": "query Q($a: [Int] = [$b]) { a }",
    "variable in a constant object": "query Q($a: I = {x: $b}) { a }",
    "variable in a constant directive": "query Q($a: Int @d(x: $b)) { a }",
    "deep variable in a constant": "query Q($a: Int = 1 @d(x: [1, {b: $c}])) { a }",
    "$ in a constant": "query Q($a: Int = $) { a }",
    "$ and a string in a constant": 'query Q($a: Int = $"s") { a }',
    "unclosed list type": "query Q($a: [Int) { a }",
    "double non-null": "query Q($a: Int!!) { a }",
    "non-null first": "query Q($a: !Int) { a }",
    "two defaults": "query Q($a: Int = 1 = 2) { a }",
    "empty directive": "query Q @ { a }",
    "$ alone in a directive": "query Q @d(x: $) { a }",
    # selections
    "alias without a name": "{ a: }",
    "two aliases": "{ a: b: c }",
    "directive without a name": "{ a @ }",
    "argument without a value": "{ a(x) }",
    "empty arguments": "{ a() }",
    "argument value missing": "{ a(x: ) }",
    "second argument value missing": "{ a(x: 1) b(y: ) }",
    "unclosed arguments": "{ a(x: 1",
    "spread on without a type": "{ ...on }",
    "inline fragment without a selection set": "{ ... on T }",
    "spread alone": "{ ... }",
    "fragment arguments": "{ ...F(x: 1) }",
    "pipe in a selection set": "{ a | b }",
    "ampersand in a selection set": "{ a & }",
    "dollar in a selection set": "{ $a }",
    "int in a selection set": "{ 1 }",
    "string in a selection set": '{ a "s" }',
    "escaped string in a message": r'{ a "\u00e9\n" }',
    "block string in a message": '{ a """ x\n  y""" }',
    # fragments
    "fragment without a type condition": "fragment F { a }",
    "fragment named on": "fragment on on T { a }",
    'fragment named "on"': 'fragment "on" on T { a }',
    "fragment named by a string": 'fragment "x" on T { a }',
    "fragment without a type": "fragment F on { a }",
    "fragment variables": "fragment F($a: Int) on T { a }",
    "fragment without a selection set": "query Q { a } fragment F on T",
    # values
    "unclosed list": "{ a(x: [1,) }",
    "list not closed by ]": "{ a(x: [1 2 3) }",
    "object field without a value": "{ a(x: {b}) }",
    "object field named by an int": "{ a(x: {1: 2}) }",
    "object value missing": "{ a(x: {a: 1, a: }) }",
    "ampersand as a value": "{ a(x: &) }",
    "$ alone": "{ a(x: $) }",
    "$ and an int": "{ a(x: $ 1) }",
    # numbers
    "leading zero": "{ a(x: 00) }",
    "leading zero and digit": "{ a(x: 01) }",
    "negative leading zero": "{ a(x: -01) }",
    "dot without digits": "{ a(x: 1.) }",
    "dot then exponent": "{ a(x: 1.e5) }",
    "leading dot": "{ a(x: .5) }",
    "leading dot and digits": "{ a(x: .123) }",
    "exponent without digits": "{ a(x: 1e) }",
    "exponent sign without digits": "{ a(x: 1e+) }",
    "letter after int": "{ a(x: 1a) }",
    "hex": "{ a(x: 0x1) }",
    "number with two dots": "{ a(x: 1.5.3) }",
    "underscore after int": "{ a(x: 1_000) }",
    "minus alone": "{ a(x: -) }",
    "minus and space": "{ a(x: - 1) }",
    "dot after exponent": "{ a(x: 1.5e3.1) }",
    "letter after float": "{ a(x: 1.5a) }",
    "minus at the end": "{ a(x: -",
    "number at the end": "{ a(x: 1",
    "digit after 0 in a float": "{ a(x: 0.5e05a) }",
    # strings
    "unterminated string": '{ a(x: "abc) }',
    "line feed in a string": '{ a(x: "ab\nc") }',
    "carriage return in a string": '{ a(x: "ab\rc") }',
    "unknown escape": r'{ a(x: "\x") }',
    "short unicode escape": r'{ a(x: "\u12") }',
    "non-hex unicode escape": r'{ a(x: "\uZZZZ") }',
    "empty braced escape": r'{ a(x: "\u{}") }',
    "braced escape beyond Unicode": r'{ a(x: "\u{110000}") }',
    "braced surrogate escape": r'{ a(x: "\u{D800}") }',
    "too long braced escape": r'{ a(x: "\u{123456789}") }',
    "unclosed braced escape": r'{ a(x: "\u{12") }',
    "non-hex braced escape": r'{ a(x: "\u{12G4}") }',
    "lone high surrogate escape": r'{ a(x: "\uD800") }',
    "lone low surrogate escape": r'{ a(x: "\uDC00") }',
    "high surrogate and a letter": r'{ a(x: "\uD800\u0041") }',
    "two high surrogates": r'{ a(x: "\uD800\uD800") }',
    "high surrogate at the end": '{ a(x: "\\uD800\\u',
    "backslash at the end": '{ a(x: "\\',
    "lone surrogate in a string": '{ a(x: "\ud800") }',
    "lone low surrogate in a string": '{ a(x: "\udc00x") }',
    "unterminated block string": '{ a(x: """abc) }',
    "three quotes then the end": '{ a(x: """) }',
    "lone surrogate in a block string": '{ a(x: """\ud800""") }',
    "single quotes": "{ a(x: 'single') }",
    # characters
    "NUL": "{ a } \x00",
    "bell": "{ a(x: 1) } \x07",
    "DEL": "{ a } \x7f",
    "lone surrogate": "{ a } \ud800",
    "lone surrogate in a comment": "{ a } # \ud800 x",
    "emoji": "{ a } 😀",
    "surrogate pair": "{ a } \ud83d\ude00",
    "non-ASCII letter": "{ é }",
    "no-break space": "{ a\u00a0}",
    "line separator": "{ a\u2028b }",
    "dot": "{ a } .",
    "two dots": "{ .. }",
    "question mark": "{ a } ?",
    "tilde": "{ a ~ }",
    "error on line 2 after CRLF": "{\r\n a(x: 1a) }",
    "error on line 3": "{ a\r\n\r\n(x: 00) }",
    "error after a block string": '{ a(x: """\n\n""") \n ? }',
    # nesting beyond graphql-core's limit
    "too deep selection sets": "{" + "a{" * DEEP + "b" + "}" * (DEEP + 1),
    "too deep list": "{a(x:" + "[" * DEEP + "]" * DEEP + ")}",
    "too deep object": "{a(x:" + "{a:" * DEEP + "1" + "}" * DEEP + ")}",
    "too deep list type": "query($x:"
    + "[" * (DEEP + 1)
    + "I"
    + "]" * (DEEP + 1)
    + "){a}",
    "too deep mixed": "{" + "a{" * 150 + "b(x:" + "[" * 51 + "]" * 51 + ")" + "}" * 151,
    "10,000 deep": "{" + "a{" * 9999 + "b" + "}" * 10000,
    # type-system definitions with syntax errors (both reject, messages differ)
    "unclosed type": "type T {",
    "type alone": "type",
    "empty type extension": "extend type T",
    "scalar alone": "scalar",
    "schema after an operation": "{ a } schema",
    "reserved enum value": "enum E { true }",
}

# Type-system definitions that graphql-core parses and we reject.
TYPE_SYSTEM_DOCUMENTS = {
    "type": "type T { a: Int }",
    "schema": "schema { query: Q }",
    "scalar": "scalar S",
    "described type": '"d" type T { a: Int }',
    "described scalar": '"""d""" scalar S',
    "type extension": "extend type T @d { b: Int }",
    "directive definition": "directive @d on FIELD",
    "interface after an operation": "{ a } interface I { a: Int }",
    "union": "union U = A | B",
    "enum": "enum E { A }",
    "input": "input I { a: Int = 1 }",
    "schema extension": "extend schema @d { query: Q }",
    "scalar extension before an operation": "extend scalar S @d query { a }",
    "union extension": "extend union U = C",
    "enum extension": "extend enum E { C }",
    "input extension": "extend input I { b: Int }",
    "interface extension": "extend interface I { b: Int }",
    "directive extension": "extend directive @d @e",
}

NO_OPERATION_DOCUMENTS = {
    "one fragment": "fragment F on T { a }",
    "two fragments": "fragment F on T { a } fragment G on T { ...F }",
    "described fragment": '"d" fragment F on T { a }',
}

# Rejected by both, with another message on purpose. Reason for all of
# them: we stop at the keyword of a type-system definition (the document is
# not executable, whatever follows); graphql-core reports a syntax error
# further on.
DELIBERATE_DIFFERENCES = {
    "unclosed type",
    "type alone",
    "empty type extension",
    "scalar alone",
    "schema after an operation",
    "reserved enum value",
}

CORPUS = {**VALID, **INVALID, **TYPE_SYSTEM_DOCUMENTS, **NO_OPERATION_DOCUMENTS}


def test_the_corpus_is_large_and_classified_right() -> None:
    assert len(CORPUS) == len(VALID) + len(INVALID) + len(TYPE_SYSTEM_DOCUMENTS) + len(
        NO_OPERATION_DOCUMENTS
    ), "a case name is used twice"
    assert len(CORPUS) >= 120
    assert DELIBERATE_DIFFERENCES <= INVALID.keys()
    for name, text in VALID.items():
        assert reference(text).kinds, name
    for name, text in INVALID.items():
        assert reference(text).kinds is None, name
    for name, text in TYPE_SYSTEM_DOCUMENTS.items():
        assert not reference(text).executable, name
    for name, text in NO_OPERATION_DOCUMENTS.items():
        assert reference(text).kinds == [], name


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_agrees_with_graphql_core(name: str) -> None:
    same_message = compare(CORPUS[name])
    if name in DELIBERATE_DIFFERENCES:
        assert same_message is False
        assert TYPE_SYSTEM in str(ours(CORPUS[name]))
    elif name in INVALID:
        assert same_message is True, (ours(CORPUS[name]), reference(CORPUS[name]))


def test_message_agreement_rate_on_the_corpus() -> None:
    same = [compare(text) for text in INVALID.values()]
    rate = sum(same) / len(same)
    print(f"message and location agreement: {sum(same)}/{len(same)} = {rate:.1%}")
    assert rate >= 0.95


def test_operation_kinds() -> None:
    operation = parse_operation("query A { a } mutation B { b } { c }")
    assert dict(operation.kinds) == {"A": "query", "B": "mutation", None: "query"}
    assert operation.kind("B") == "mutation"
    assert operation.kind("C") is None
    assert operation.kind(None) is None  # three operations
    assert operation.is_mutation(None)  # it may be B
    assert not operation.is_mutation("A")
    single = parse_operation("subscription S { a }")
    assert single.kind(None) == "subscription"
    assert not single.is_mutation(None)
    duplicate = parse_operation("query A { a } mutation A { b }")
    assert dict(duplicate.kinds) == {"A": "mutation"}  # the later one wins


# --- the rules beyond graphql-core -----------------------------------------------


@pytest.mark.parametrize("name", TYPE_SYSTEM_DOCUMENTS)
def test_type_system_definitions_are_rejected(name: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_operation(TYPE_SYSTEM_DOCUMENTS[name])
    message = str(caught.value)
    assert message.startswith("the query is not an executable GraphQL document: ")
    assert "only operations and fragments can be sent" in message
    assert message.endswith("nothing was sent")


def test_type_system_message_shows_keyword_and_location_only() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_operation('{ a }\n  "SECRET" type Secret { secret: Int }')
    message = str(caught.value)
    assert "'type', at line 2, column 3" in message
    assert "ecret" not in message.replace("type-system", "")


@pytest.mark.parametrize("name", NO_OPERATION_DOCUMENTS)
def test_documents_without_an_operation_are_rejected(name: str) -> None:
    with pytest.raises(ConfigurationError, match=NO_OPERATION):
        parse_operation(NO_OPERATION_DOCUMENTS[name])


@pytest.mark.parametrize(
    "text",
    [
        "{" + "a{" * 9999 + "b" + "}" * 10000,
        "{a(x:" + "[" * 10000 + "]" * 10000 + ")}",
        "{a(x:" + "{a:" * 10000 + "1" + "}" * 10000 + ")}",
        "query($x:" + "[" * 10000 + "I" + "]" * 10000 + "){a}",
        "{" + "... on T {" * 10000 + "}" * 10001,
    ],
    ids=["selections", "lists", "objects", "list types", "inline fragments"],
)
def test_deep_nesting_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigurationError, match="nested too deeply"):
        parse_operation(text)
    compare(text)


def test_a_deep_stack_of_the_caller_is_no_recursion_error() -> None:
    """Nesting within the limit, but the caller left little stack."""
    text = "{" + "a{" * (DEEP - 1) + "b" + "}" * DEEP
    parse_operation(text)  # fine with room
    depth = len(_frames())

    def deep(level: int) -> str:
        if level > 0:
            return deep(level - 1)
        try:
            parse_operation(text)
        except ConfigurationError as exc:
            return str(exc)
        return "accepted"

    levels = sys.getrecursionlimit() - depth - 60
    assert "nested too deeply" in deep(levels)


def _frames() -> list[object]:
    frames = []
    frame = sys._getframe()
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back  # type: ignore[assignment]
    return frames


def _large_query() -> str:
    parts = ["query Large($id: ID!, $limit: Int = 10) {"]
    i = 0
    while sum(map(len, parts)) < 100_000:
        parts.append(
            f'  f{i}: item(id: $id, filter: {{name: "n{i}", tags: ["a", "b"], '
            f"min: {i}.5, max: {i}e2, on: true}}, limit: $limit) @include(if: true) "
            "{ id name ... on Thing { size owner { id } } ...Parts }\n"
        )
        i += 1
    parts.append("}\nfragment Parts on Thing { a b c }\n")
    return "".join(parts)


def test_a_100_kb_query_is_accepted_quickly() -> None:
    text = _large_query()
    assert len(text) >= 100_000
    started = time.perf_counter()
    operation = parse_operation(text)
    elapsed = time.perf_counter() - started
    print(f"100 KB query: {elapsed * 1000:.1f} ms")
    assert dict(operation.kinds) == {"Large": "query"}
    assert elapsed < 0.5  # typically ~15 ms; generous for loaded CI machines
    compare(text)


@pytest.mark.parametrize(
    "text",
    [
        '{ a(token: "SECRET") b(x: ) }',
        'query Q($t: String = "SECRET") { a } }',
        '{ a(token: "SECRET") } \x00',
        '{ a(token: """SECRET""") b(x: 1a) }',
        '{ a(token: "SECRET", x: "unterminated) }',
        '{ a(token: "SECRET") } "description" foo',
    ],
)
def test_messages_show_no_more_of_the_query_than_graphql_core(text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_operation(text)
    assert compare(text) is True
    assert "SECRET" not in str(caught.value)


# --- no graphql-core -------------------------------------------------------------


def test_document_module_imports_only_the_standard_library() -> None:
    """Statically: no import of graphql or gql anywhere in the module."""
    tree = ast.parse(DOCUMENT_MODULE.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert node.module == "_errors", ast.dump(node)
            else:
                imported.add(node.module or "")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "__import__"
    assert imported  # the walk found the imports
    for module in imported:
        top = module.split(".")[0]
        assert top not in {"graphql", "gql", "importlib"}, module
        assert top in sys.stdlib_module_names or top == "__future__", module


def test_parsing_imports_no_graphql_core() -> None:
    """At run time, once the package and ``_errors`` are cheap themselves."""
    code = (
        "import json, sys\n"
        "import appsync_iam._errors\n"
        "before = 'graphql' in sys.modules\n"
        "import appsync_iam._document as d\n"
        "d.parse_operation('query Q { a }')\n"
        "print(json.dumps([before, 'graphql' in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=DOCUMENT_MODULE.parent.parent,
        check=True,
    )
    before, after = json.loads(done.stdout)
    if before:
        pytest.skip("appsync_iam or its _errors module still imports graphql-core")
    assert not after


# --- hypothesis: generated and mutated documents ---------------------------------

NAME_LIST = [
    *("a", "b", "c", "_x", "Foo", "x1", "__typename", "A_b9", "ENUM_V"),
    *("on", "query", "mutation", "subscription", "fragment", "true", "false", "null"),
    *("type", "extend", "schema"),
]
NAMES = st.sampled_from(NAME_LIST)
FRAGMENT_NAMES = st.sampled_from([name for name in NAME_LIST if name != "on"])
SEPARATORS = st.sampled_from(
    [" ", " ", " ", "\n", ",", "\t", "\r\n", "\r", " # note\n", "\ufeff", " , "]
)
SCALARS = st.sampled_from(
    [
        *("1", "0", "-0", "42", "-17", "1.5", "-0.25e-3", "6E+2", "1e10"),
        *('""', '"abc"', r'"\n\t\"\\\/\b\f\r"', r'"\u00e9"', r'"\u{1F600}"'),
        *(r'"\uD83D\uDE00"', '"é😀"', '""""""', '"""block"""'),
        *('"""\n  multi\n   line\n"""', r'"""esc \""" aped"""'),
        *("true", "false", "null", "ENUM", "on"),
    ]
)
Tokens = list[str]


def _concat(parts: tuple[Tokens, ...] | list[Tokens]) -> Tokens:
    return [token for part in parts for token in part]


def _values(const: bool) -> st.SearchStrategy[Tokens]:
    leaves = SCALARS.map(lambda value: [value])
    if not const:
        leaves |= NAMES.map(lambda name: ["$", name])

    def nest(inner: st.SearchStrategy[Tokens]) -> st.SearchStrategy[Tokens]:
        lists = st.lists(inner, max_size=3).map(
            lambda items: ["[", *_concat(items), "]"]
        )
        fields = st.tuples(NAMES, inner).map(lambda field: [field[0], ":", *field[1]])
        objects = st.lists(fields, max_size=3).map(
            lambda items: ["{", *_concat(items), "}"]
        )
        return lists | objects

    return st.recursive(leaves, nest, max_leaves=4)


def _arguments(const: bool) -> st.SearchStrategy[Tokens]:
    argument = st.tuples(NAMES, _values(const)).map(
        lambda item: [item[0], ":", *item[1]]
    )
    arguments = st.lists(argument, min_size=1, max_size=2)
    return st.just([]) | arguments.map(lambda items: ["(", *_concat(items), ")"])


def _directives(const: bool) -> st.SearchStrategy[Tokens]:
    directive = st.tuples(NAMES, _arguments(const)).map(
        lambda item: ["@", item[0], *item[1]]
    )
    return st.just([]) | st.lists(directive, min_size=1, max_size=2).map(_concat)


def _optional(strategy: st.SearchStrategy[Tokens]) -> st.SearchStrategy[Tokens]:
    return st.just([]) | strategy


ARGUMENTS = _arguments(const=False)
DIRECTIVES = _directives(const=False)
CONST_VALUES = _values(const=True)
CONST_DIRECTIVES = _directives(const=True)
TYPES = st.recursive(
    NAMES.map(lambda name: [name]),
    lambda inner: inner.map(lambda type_: ["[", *type_, "]"]),
    max_leaves=3,
).flatmap(lambda type_: st.sampled_from([type_, [*type_, "!"]]))
DESCRIPTIONS = st.sampled_from([[], [], ['"described"'], ['"""block\n described"""']])

FIELDS = st.tuples(
    _optional(NAMES.map(lambda name: [name, ":"])),
    NAMES.map(lambda name: [name]),
    ARGUMENTS,
    DIRECTIVES,
).map(_concat)
SPREADS = st.tuples(FRAGMENT_NAMES, DIRECTIVES).map(
    lambda spread: ["...", spread[0], *spread[1]]
)


def _nest_selections(inner: st.SearchStrategy[Tokens]) -> st.SearchStrategy[Tokens]:
    """Selection sets of fields with selection sets and of inline fragments."""
    condition = _optional(NAMES.map(lambda name: ["on", name]))
    selection = (
        FIELDS
        | SPREADS
        | st.tuples(FIELDS, inner).map(_concat)
        | st.tuples(condition, DIRECTIVES, inner).map(
            lambda parts: ["...", *_concat(parts)]
        )
    )
    return st.lists(selection, max_size=3).map(
        lambda items: ["{", *_concat(items), "}"]
    )


SELECTION_SETS = st.recursive(
    st.lists(FIELDS | SPREADS, min_size=1, max_size=3).map(
        lambda items: ["{", *_concat(items), "}"]
    ),
    _nest_selections,
    max_leaves=6,
)
VARIABLE_DEFINITIONS = st.lists(
    st.tuples(
        DESCRIPTIONS,
        NAMES.map(lambda name: ["$", name, ":"]),
        TYPES,
        _optional(CONST_VALUES.map(lambda value: ["=", *value])),
        CONST_DIRECTIVES,
    ).map(_concat),
    min_size=1,
    max_size=3,
).map(lambda items: ["(", *_concat(items), ")"])
OPERATIONS = st.tuples(
    DESCRIPTIONS,
    st.sampled_from([["query"], ["mutation"], ["subscription"]]),
    _optional(NAMES.map(lambda name: [name])),
    _optional(VARIABLE_DEFINITIONS),
    DIRECTIVES,
    SELECTION_SETS,
).map(_concat)
FRAGMENTS = st.tuples(
    DESCRIPTIONS,
    FRAGMENT_NAMES.map(lambda name: ["fragment", name, "on"]),
    NAMES.map(lambda name: [name]),
    DIRECTIVES,
    SELECTION_SETS,
).map(_concat)
DEFINITIONS = SELECTION_SETS | OPERATIONS | OPERATIONS | FRAGMENTS


def _join(draw: st.DrawFn, tokens: Tokens) -> str:
    """The tokens separated by ignored tokens (a drawn cycle of them)."""
    separators = draw(st.lists(SEPARATORS, min_size=1, max_size=8))
    return "".join(
        separators[i % len(separators)] + token for i, token in enumerate(tokens)
    )


@st.composite
def documents(draw: st.DrawFn) -> str:
    """An executable document: operations and fragments."""
    return _join(draw, _concat(draw(st.lists(DEFINITIONS, min_size=1, max_size=3))))


MUTATION_CHARACTERS = st.sampled_from(
    [
        *"{}()[]:$@!=|&.,\"\\#'-+0123456789eExzuU_ \t\n\r",
        "\ufeff",
        "\x00",
        "\x01",
        "\x7f",
        "é",
        "\u00a0",
        "\u2028",
        "\ud800",
        "\udc00",
        "😀",
    ]
)
MUTATION_TOKENS = st.sampled_from(
    [
        "...",
        "..",
        '"""',
        '\\"""',
        "\\u",
        "\\u{",
        "on",
        "fragment",
        "query",
        "mutation",
        "type",
        "extend",
        "scalar",
        "$a",
        "@d",
        "1.5e",
        "0",
        "\r\n",
        "# c\n",
    ]
)


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str]) -> str:
    """``base`` with 1 to 3 characters or tokens deleted, inserted or replaced."""
    text = draw(base)
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        operation = draw(st.sampled_from(["delete", "insert", "replace", "token"]))
        if operation == "delete":
            text = text[:position] + text[position + 1 :]
        elif operation == "insert":
            text = text[:position] + draw(MUTATION_CHARACTERS) + text[position:]
        elif operation == "replace":
            text = text[:position] + draw(MUTATION_CHARACTERS) + text[position + 1 :]
        else:
            text = text[:position] + draw(MUTATION_TOKENS) + text[position:]
    return text


TYPE_SYSTEM_SNIPPETS = st.sampled_from(list(TYPE_SYSTEM_DOCUMENTS.values()))


@st.composite
def with_type_system_definition(draw: st.DrawFn) -> str:
    """A document with a type-system definition before, after or between."""
    definitions = draw(st.lists(DEFINITIONS, min_size=1, max_size=3))
    position = draw(st.integers(0, len(definitions)))
    definitions.insert(position, [draw(TYPE_SYSTEM_SNIPPETS)])
    return _join(draw, _concat(definitions))


def hypothesis_settings(examples: int = 300) -> Callable[[Callable[..., None]], object]:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@hypothesis_settings()
@given(documents())
def test_generated_documents_agree_with_graphql_core(text: str) -> None:
    assert reference(text).kinds is not None, "the generator made an invalid document"
    compare(text)


@hypothesis_settings()
@given(mutated(documents()))
def test_mutated_documents_agree_with_graphql_core(text: str) -> None:
    compare(text)


@hypothesis_settings(150)
@given(with_type_system_definition())
def test_generated_type_system_definitions_are_rejected(text: str) -> None:
    assert reference(text).executable is False
    result = ours(text)
    assert isinstance(result, str)
    assert TYPE_SYSTEM in result


@hypothesis_settings(150)
@given(mutated(with_type_system_definition()))
def test_mutated_type_system_documents_agree_with_graphql_core(text: str) -> None:
    compare(text)
