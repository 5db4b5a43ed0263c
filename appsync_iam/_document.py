"""The syntax check of a query string, without graphql-core.

:func:`parse_operation` reads a GraphQL document once, before anything is
sent: it rejects a document that is not valid GraphQL, and it records the
type of each operation in it (``query``, ``mutation`` or ``subscription``,
by operation name), which decides whether a failed request may be retried.

Why not ``graphql.parse``? Importing graphql-core costs 120-260 ms of a
Lambda cold start (measured on a 2-core machine, after aiohttp), and this
check runs on the path of the first request. So this module is a small
lexer and recursive-descent parser over the *executable* grammar of the
GraphQL specification, in the standard library only. It builds no syntax
tree.

It accepts and rejects exactly what graphql-core 3.3's ``parse`` accepts and
rejects, including its lexer's rules for numbers, strings, escapes and
invalid characters, and its nesting limit (200 levels of selection sets,
list and object values and list types). Its error messages and locations
are graphql-core's (``Syntax Error: Expected Name, found <EOF>.`` at line
and column). ``tests/test_document.py`` checks this against graphql-core
with a hand-written corpus and randomly generated and mutated documents.

Two rules go beyond ``graphql.parse``, because AppSync can only execute
operations:

* a document with a type-system definition or extension (``type``,
  ``schema``, ``scalar``, ``extend``, ``directive``, ``"description" type``
  and so on) is rejected as not executable, where graphql-core would parse
  it: only operations and fragments can be sent;
* a document without any operation (only fragments) is rejected: there is
  no operation to run.

Every rejection is a :class:`~._errors.ConfigurationError` raised before
any request. Its message shows no more of the query than graphql-core's
message would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from ._errors import ConfigurationError

__all__ = ["Operation", "parse_operation"]


@dataclass(frozen=True, slots=True)
class Operation:
    """A GraphQL document's text as sent, and the type of each operation in it."""

    text: str
    kinds: Mapping[str | None, str]  # operation name (None if anonymous) → type

    def kind(self, operation_name: str | None) -> str | None:
        """``"query"``, ``"mutation"``, ``"subscription"``, or None if unknown."""
        if operation_name is not None:
            return self.kinds.get(operation_name)
        if len(self.kinds) == 1:
            return next(iter(self.kinds.values()))
        return None

    def is_mutation(self, operation_name: str | None) -> bool:
        """True if the operation is, or may be, a mutation (for retries)."""
        kind = self.kind(operation_name)
        if kind is None:
            return "mutation" in self.kinds.values()
        return kind == "mutation"


def parse_operation(text: str) -> Operation:
    """Check that ``text`` is an executable GraphQL document; its operations.

    Raises :class:`ConfigurationError` if it is not valid GraphQL (with
    graphql-core's message and location), if it defines types rather than
    operations, or if it has no operation at all.
    """
    parser = _Parser(text)
    try:
        kinds = parser.parse_document()
    except _SyntaxError as exc:
        line, column = _line_and_column(text, exc.position)
        raise ConfigurationError(
            f"the query is not valid GraphQL: Syntax Error: {exc.description} "
            f"(at line {line}, column {column}); nothing was sent"
        ) from None
    except _TypeSystemDefinition as exc:
        line, column = _line_and_column(text, exc.position)
        raise ConfigurationError(
            "the query is not an executable GraphQL document: it has a "
            f"type-system definition ('{exc.keyword}', at line {line}, column "
            f"{column}); only operations and fragments can be sent; nothing was sent"
        ) from None
    except RecursionError:
        # Only when the caller's stack is already deep: the nesting limit
        # keeps the recursion of the parser itself within about 400 frames.
        # Reported outside the handler (a traceback would keep every frame).
        pass
    else:
        if not kinds:
            raise ConfigurationError(
                "the query has no operation to run (the document only defines "
                "fragments); nothing was sent"
            )
        return Operation(text, kinds)
    line, column = _line_and_column(text, parser.token.start)
    raise ConfigurationError(
        f"the query is not valid GraphQL: Syntax Error: {_TOO_DEEP} "
        f"(at line {line}, column {column}); nothing was sent"
    )


# graphql-core's limit: selection sets, list and object values and list types,
# all counted together.
MAX_NESTING_DEPTH = 200

_TOO_DEEP = "Document is nested too deeply. Parsing aborted."


class _SyntaxError(Exception):
    """graphql-core's GraphQLSyntaxError: a description at a position."""

    def __init__(self, position: int, description: str) -> None:
        super().__init__(description)
        self.position = position
        self.description = description


class _TypeSystemDefinition(Exception):
    """A type-system definition or extension (valid GraphQL, not executable)."""

    def __init__(self, position: int, keyword: str) -> None:
        super().__init__(keyword)
        self.position = position
        self.keyword = keyword


_NEWLINE = re.compile(r"\r\n|[\n\r]")


def _line_and_column(body: str, position: int) -> tuple[int, int]:
    """1-based line and column of a position, as graphql-core counts them."""
    line, line_start = 1, 0
    for match in _NEWLINE.finditer(body):
        if match.start() >= position:
            break
        line_start = match.end()
        line += 1
    return line, position + 1 - line_start


# --- lexer ----------------------------------------------------------------------

# Token kinds, spelled as graphql-core spells them in its messages.
_SOF = "<SOF>"
_EOF = "<EOF>"
_NAME = "Name"
_INT = "Int"
_FLOAT = "Float"
_STRING = "String"
_BLOCK_STRING = "BlockString"
_SPREAD = "..."
_PUNCTUATORS = frozenset("!$&():=@[]{|}")  # one character each; also "..."


class _Token(NamedTuple):
    kind: str  # one of the kinds above, or the punctuator itself
    start: int
    end: int
    value: str | None = None  # names, numbers and (decoded) strings


def _describe(token: _Token) -> str:
    """A token as graphql-core's messages show it: ``Name 'foo'``, ``'{'``."""
    kind = token.kind
    if kind in _PUNCTUATORS or kind == _SPREAD:
        kind = f"'{kind}'"
    return kind if token.value is None else f"{kind} '{token.value}'"


_IGNORED = re.compile("[\ufeff \t\n\r,]*")  # BOM, white space, line ends, commas
_NAME_CONTINUE = re.compile("[_0-9A-Za-z]*")
_DIGITS = re.compile("[0-9]*")
# Source characters but line terminators, and the stop characters given:
# Unicode scalar values, or surrogate pairs (a Python str may hold either).
_COMMENT_RUN = re.compile("(?:[^\r\n\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*")
_STRING_RUN = re.compile(
    '(?:[^"\\\\\r\n\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*'
)
_ESCAPED_CHARACTERS = {
    '"': '"',
    "/": "/",
    "\\": "\\",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


def _skip(pattern: re.Pattern[str], body: str, position: int) -> int:
    """The position after the run of ``pattern`` (maybe empty) at ``position``."""
    match = pattern.match(body, position)
    return match.end() if match else position


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"  # False for "" (the end of the body)


def _is_name_start(char: str) -> bool:
    return char == "_" or "a" <= char <= "z" or "A" <= char <= "Z"


def _is_scalar(point: int) -> bool:
    """A Unicode scalar value: a code point but not a surrogate."""
    return 0 <= point <= 0xD7FF or 0xE000 <= point <= 0x10FFFF


def _is_surrogate_pair(body: str, position: int) -> bool:
    return (
        "\ud800" <= body[position : position + 1] <= "\udbff"
        and "\udc00" <= body[position + 1 : position + 2] <= "\udfff"
    )


def _hex_value(char: str) -> int:
    if "0" <= char <= "9":
        return ord(char) - 48
    if "A" <= char <= "F":
        return ord(char) - 55
    if "a" <= char <= "f":
        return ord(char) - 87
    return -1


def _hex4(body: str, position: int) -> int:
    """The value of 4 hex digits at ``position``, or -1."""
    values = [_hex_value(char) for char in body[position : position + 4]]
    if len(values) < 4 or min(values) < 0:
        return -1
    return values[0] << 12 | values[1] << 8 | values[2] << 4 | values[3]


def _dedent_block_string(lines: list[str]) -> str:
    """The value of a block string from its raw lines (spec: BlockStringValue)."""
    common_indent: int | None = None
    first_non_empty = last_non_empty = None
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip(" \t"))
        if indent == len(line):
            continue  # blank lines are not counted
        if first_non_empty is None:
            first_non_empty = i
        last_non_empty = i
        if i and (common_indent is None or indent < common_indent):
            common_indent = indent
    if first_non_empty is None or last_non_empty is None:
        return ""
    # common_indent is None only if every line but the first is blank; they
    # are then all cut off below.
    dedented = [lines[0]] + [line[common_indent:] for line in lines[1:]]
    return "\n".join(dedented[first_non_empty : last_non_empty + 1])


class _Lexer:
    """GraphQL's lexical grammar, with graphql-core 3.3's errors."""

    def __init__(self, body: str) -> None:
        self.body = body

    def read_token(self, position: int) -> _Token:
        """The first token at or after ``position``, past ignored tokens."""
        body = self.body
        length = len(body)
        while position < length:
            char = body[position]
            if char in "\ufeff \t\n\r,":
                position = _skip(_IGNORED, body, position)
                continue
            if char == "#":
                position = _skip(_COMMENT_RUN, body, position + 1)
                continue
            if char == '"':
                if body[position + 1 : position + 3] == '""':
                    return self._read_block_string(position)
                return self._read_string(position)
            if char in _PUNCTUATORS:
                return _Token(char, position, position + 1)
            if _is_digit(char) or char == "-":
                return self._read_number(position, char)
            if _is_name_start(char):
                end = _skip(_NAME_CONTINUE, body, position + 1)
                return _Token(_NAME, position, end, body[position:end])
            if char == ".":
                if body[position + 1 : position + 2] == ".":
                    if body[position + 2 : position + 3] == ".":
                        return _Token(_SPREAD, position, position + 3)
                    raise _SyntaxError(position, "Unexpected '..', did you mean '...'?")
                if _is_digit(body[position + 1 : position + 2]):
                    end = _skip(_DIGITS, body, position + 1)
                    raise _SyntaxError(
                        position,
                        "Invalid number, expected digit before '.', did you mean "
                        f"'0.{body[position + 1 : end]}'?",
                    )
            raise self._unexpected_character(position)
        return _Token(_EOF, length, length)

    def _unexpected_character(self, position: int) -> _SyntaxError:
        char = self.body[position]
        if char == "'":
            return _SyntaxError(
                position,
                "Unexpected single quote character ('), "
                'did you mean to use a double quote (")?',
            )
        if _is_scalar(ord(char)) or _is_surrogate_pair(self.body, position):
            return _SyntaxError(
                position, f"Unexpected character: {self._code_point_at(position)}."
            )
        # A lone surrogate: not a Unicode scalar value.
        return _SyntaxError(
            position, f"Invalid character: {self._code_point_at(position)}."
        )

    def _code_point_at(self, position: int) -> str:
        """``'a'`` for printable ASCII, ``U+00E9`` otherwise, ``<EOF>`` at the end."""
        body = self.body
        if position >= len(body):
            return _EOF
        char = body[position]
        if "\x20" <= char <= "\x7e":
            return f"'{char}'"
        point = ord(char)
        if _is_surrogate_pair(body, position):
            point = (
                0x10000 + ((point - 0xD800) << 10) + (ord(body[position + 1]) - 0xDC00)
            )
        return f"U+{point:04X}"

    def _read_number(self, start: int, char: str) -> _Token:
        """IntValue or FloatValue, which no digit, ``.`` or NameStart may follow."""
        body = self.body
        position = start
        is_float = False
        if char == "-":
            position += 1
            char = body[position : position + 1]
        if char == "0":
            position += 1
            char = body[position : position + 1]
            if _is_digit(char):
                raise _SyntaxError(
                    position,
                    "Invalid number, unexpected digit after 0: "
                    f"{self._code_point_at(position)}.",
                )
        else:
            position = self._read_digits(position, char)
            char = body[position : position + 1]
        if char == ".":
            is_float = True
            position = self._read_digits(
                position + 1, body[position + 1 : position + 2]
            )
            char = body[position : position + 1]
        if char in ("e", "E"):
            is_float = True
            position += 1
            char = body[position : position + 1]
            if char in ("+", "-"):
                position += 1
                char = body[position : position + 1]
            position = self._read_digits(position, char)
            char = body[position : position + 1]
        if char == "." or _is_name_start(char):
            raise _SyntaxError(
                position,
                "Invalid number, expected digit but got: "
                f"{self._code_point_at(position)}.",
            )
        return _Token(
            _FLOAT if is_float else _INT, start, position, body[start:position]
        )

    def _read_digits(self, start: int, char: str) -> int:
        """The position after one or more digits."""
        if not _is_digit(char):
            raise _SyntaxError(
                start,
                "Invalid number, expected digit but got: "
                f"{self._code_point_at(start)}.",
            )
        return _skip(_DIGITS, self.body, start + 1)

    def _read_string(self, start: int) -> _Token:
        body = self.body
        position = start + 1
        value: list[str] = []
        while True:
            end = _skip(_STRING_RUN, body, position)
            value.append(body[position:end])
            position = end
            char = body[position : position + 1]
            if char == '"':
                return _Token(_STRING, start, position + 1, "".join(value))
            if char == "\\":
                escaped, size = self._read_escape(position)
                value.append(escaped)
                position += size
                continue
            if char in ("", "\r", "\n"):
                raise _SyntaxError(position, "Unterminated string.")
            raise _SyntaxError(  # a lone surrogate
                position,
                f"Invalid character within String: {self._code_point_at(position)}.",
            )

    def _read_escape(self, position: int) -> tuple[str, int]:
        """The value and length of the escape sequence at ``position``."""
        body = self.body
        if body[position + 1 : position + 2] != "u":
            value = _ESCAPED_CHARACTERS.get(body[position + 1 : position + 2])
            if value is None:
                raise _SyntaxError(
                    position,
                    "Invalid character escape sequence: "
                    f"'{body[position : position + 2]}'.",
                )
            return value, 2
        if body[position + 2 : position + 3] == "{":
            return self._read_variable_width_escape(position)
        code = _hex4(body, position + 2)
        if _is_scalar(code):
            return chr(code), 6
        # A JSON-style surrogate pair of two escapes reads as one character.
        if 0xD800 <= code <= 0xDBFF and body[position + 6 : position + 8] == "\\u":
            trailing = _hex4(body, position + 8)
            if 0xDC00 <= trailing <= 0xDFFF:
                return chr(0x10000 + ((code - 0xD800) << 10) + (trailing - 0xDC00)), 12
        raise _SyntaxError(
            position,
            f"Invalid Unicode escape sequence: '{body[position : position + 6]}'.",
        )

    def _read_variable_width_escape(self, position: int) -> tuple[str, int]:
        r"""``\u{1F600}``: 1 to 8 hex digits of a Unicode scalar value."""
        body = self.body
        point = 0
        size = 3
        max_size = min(12, len(body) - position)  # \u{00000000}
        while size < max_size:
            char = body[position + size]
            size += 1
            if char == "}":
                if size < 5 or not _is_scalar(point):
                    break
                return chr(point), size
            digit = _hex_value(char)
            if digit < 0:
                break
            point = point << 4 | digit
        raise _SyntaxError(
            position,
            f"Invalid Unicode escape sequence: '{body[position : position + size]}'.",
        )

    def _read_block_string(self, start: int) -> _Token:
        r'''``"""…"""``: raw lines, where only ``\"""`` is an escape.'''
        body = self.body
        position = start + 3
        lines: list[str] = []
        line: list[str] = []
        while True:
            end = _skip(_STRING_RUN, body, position)
            line.append(body[position:end])
            position = end
            char = body[position : position + 1]
            if char == '"':
                if body[position + 1 : position + 3] == '""':
                    lines.append("".join(line))
                    value = _dedent_block_string(lines)
                    return _Token(_BLOCK_STRING, start, position + 3, value)
                line.append(char)
                position += 1
            elif char == "\\":
                if body[position + 1 : position + 4] == '"""':
                    line.append('"""')
                    position += 4
                else:
                    line.append(char)
                    position += 1
            elif char in ("\r", "\n"):
                lines.append("".join(line))
                line = []
                position += 2 if body[position : position + 2] == "\r\n" else 1
            elif char == "":
                raise _SyntaxError(position, "Unterminated string.")
            else:  # a lone surrogate
                raise _SyntaxError(
                    position,
                    "Invalid character within String: "
                    f"{self._code_point_at(position)}.",
                )


# --- parser ---------------------------------------------------------------------

_OPERATION_TYPES = frozenset(("query", "mutation", "subscription"))
# The keywords that start a type-system definition, or follow ``extend``.
_TYPE_SYSTEM_KEYWORDS = frozenset(
    ("schema", "scalar", "type", "interface", "union", "enum", "input", "directive")
)


class _Parser:
    """The executable grammar, step for step as graphql-core parses it.

    The token after the current one is read as soon as the current one is
    consumed, as graphql-core does: so the same error comes first.
    """

    def __init__(self, body: str) -> None:
        self.lexer = _Lexer(body)
        self.token = _Token(_SOF, 0, 0)
        self._next: _Token | None = None  # read by lookahead()
        self.depth = 0
        self.kinds: dict[str | None, str] = {}

    # Documents and definitions

    def parse_document(self) -> dict[str | None, str]:
        """Document: Definition+ (the operation types by name)."""
        self.advance()  # past <SOF>
        self.parse_definition()
        while not self.expect_optional(_EOF):
            self.parse_definition()
        return self.kinds

    def parse_definition(self) -> None:
        if self.peek("{"):
            self.parse_operation_definition()
            return
        has_description = self.token.kind in (_STRING, _BLOCK_STRING)
        keyword = self.lookahead() if has_description else self.token
        if has_description and keyword.kind == "{":
            raise _SyntaxError(
                self.token.start,
                "Unexpected description, "
                "descriptions are not supported on shorthand queries.",
            )
        if keyword.kind == _NAME:
            if keyword.value in _TYPE_SYSTEM_KEYWORDS:
                raise _TypeSystemDefinition(self.token.start, keyword.value)
            if keyword.value in _OPERATION_TYPES:
                self.parse_operation_definition()
                return
            if keyword.value == "fragment":
                self.parse_fragment_definition()
                return
            if has_description:
                raise _SyntaxError(
                    self.token.start,
                    "Unexpected description, "
                    "only GraphQL definitions support descriptions.",
                )
            if keyword.value == "extend":
                extended = self.lookahead()
                if extended.kind == _NAME and extended.value in _TYPE_SYSTEM_KEYWORDS:
                    raise _TypeSystemDefinition(self.token.start, "extend")
                raise self.unexpected(extended)
        raise self.unexpected(keyword)

    def parse_operation_definition(self) -> None:
        """OperationDefinition: SelectionSet, or Description? OperationType
        Name? VariableDefinitions? Directives? SelectionSet."""
        if self.peek("{"):
            self.parse_selection_set()
            self.kinds[None] = "query"
            return
        self.parse_description()
        operation = self.expect(_NAME)
        if operation.value not in _OPERATION_TYPES:
            raise self.unexpected(operation)
        name = self.expect(_NAME).value if self.peek(_NAME) else None
        if self.expect_optional("("):
            self.parse_variable_definition()
            while not self.expect_optional(")"):
                self.parse_variable_definition()
        self.parse_directives(const=False)
        self.parse_selection_set()
        self.kinds[name] = operation.value

    def parse_variable_definition(self) -> None:
        """VariableDefinition: Description? Variable : Type DefaultValue?
        Directives[Const]?"""
        self.parse_description()
        self.expect("$")
        self.expect(_NAME)
        self.expect(":")
        self.parse_type_reference()
        if self.expect_optional("="):
            self.parse_value(const=True)
        self.parse_directives(const=True)

    def parse_type_reference(self) -> None:
        """Type: NamedType, [Type], or either followed by !"""
        if self.expect_optional("["):
            self.enter_nesting()
            self.parse_type_reference()
            self.depth -= 1
            self.expect("]")
        else:
            self.expect(_NAME)
        self.expect_optional("!")

    def parse_fragment_definition(self) -> None:
        """FragmentDefinition: Description? fragment FragmentName TypeCondition
        Directives? SelectionSet."""
        self.parse_description()
        self.expect_keyword("fragment")
        self.parse_fragment_name()
        self.expect_keyword("on")
        self.expect(_NAME)
        self.parse_directives(const=False)
        self.parse_selection_set()

    def parse_fragment_name(self) -> None:
        """FragmentName: Name but not ``on``."""
        if self.token.value == "on":  # graphql-core checks any token's value
            raise self.unexpected()
        self.expect(_NAME)

    def parse_description(self) -> None:
        if self.token.kind in (_STRING, _BLOCK_STRING):
            self.advance()

    # Selections

    def parse_selection_set(self) -> None:
        """SelectionSet: { Selection* } (graphql-core allows an empty one)."""
        self.enter_nesting()
        self.expect("{")
        while not self.expect_optional("}"):
            if self.peek(_SPREAD):
                self.parse_fragment()
            else:
                self.parse_field()
        self.depth -= 1

    def parse_field(self) -> None:
        """Field: Alias? Name Arguments? Directives? SelectionSet?"""
        self.expect(_NAME)
        if self.expect_optional(":"):
            self.expect(_NAME)
        self.parse_arguments(const=False)
        self.parse_directives(const=False)
        if self.peek("{"):
            self.parse_selection_set()

    def parse_fragment(self) -> None:
        """FragmentSpread: ... FragmentName Directives?, or
        InlineFragment: ... TypeCondition? Directives? SelectionSet."""
        self.expect(_SPREAD)
        has_type_condition = self.expect_optional_keyword("on")
        if not has_type_condition and self.peek(_NAME):
            self.parse_fragment_name()
            self.parse_directives(const=False)
            return
        if has_type_condition:
            self.expect(_NAME)
        self.parse_directives(const=False)
        self.parse_selection_set()

    def parse_arguments(self, *, const: bool) -> None:
        """Arguments[Const]: ( Argument[?Const]+ ), Argument: Name : Value."""
        if self.expect_optional("("):
            while True:
                self.expect(_NAME)
                self.expect(":")
                self.parse_value(const=const)
                if self.expect_optional(")"):
                    break

    def parse_directives(self, *, const: bool) -> None:
        """Directives[Const]: Directive[?Const]+, Directive: @ Name Arguments?"""
        while self.expect_optional("@"):
            self.expect(_NAME)
            self.parse_arguments(const=const)

    # Values

    def parse_value(self, *, const: bool) -> None:
        """Value[Const]: a variable (unless const), a scalar, a list or an object."""
        token = self.token
        if token.kind == "[":
            self.enter_nesting()
            self.advance()
            while not self.expect_optional("]"):
                self.parse_value(const=const)
            self.depth -= 1
        elif token.kind == "{":
            self.enter_nesting()
            self.advance()
            while not self.expect_optional("}"):
                self.expect(_NAME)
                self.expect(":")
                self.parse_value(const=const)
            self.depth -= 1
        elif token.kind in (_INT, _FLOAT, _STRING, _BLOCK_STRING, _NAME):
            self.advance()  # names: true, false, null or an enum value
        elif token.kind == "$":
            self.advance()
            if const:
                if self.token.kind == _NAME:
                    raise _SyntaxError(
                        token.start,
                        f"Unexpected variable '${self.token.value}' in constant value.",
                    )
                raise self.unexpected(token)
            self.expect(_NAME)
        else:
            raise self.unexpected()

    # Tokens

    def enter_nesting(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING_DEPTH:
            raise _SyntaxError(self.token.start, _TOO_DEEP)

    def advance(self) -> None:
        if self._next is not None:
            self.token, self._next = self._next, None
        else:
            self.token = self.lexer.read_token(self.token.end)

    def lookahead(self) -> _Token:
        """The token after the current one (without consuming this one)."""
        if self._next is None:
            self._next = self.lexer.read_token(self.token.end)
        return self._next

    def peek(self, kind: str) -> bool:
        return self.token.kind == kind

    def expect(self, kind: str) -> _Token:
        token = self.token
        if token.kind != kind:
            expected = kind if kind in (_NAME, _EOF) else f"'{kind}'"
            raise _SyntaxError(
                token.start, f"Expected {expected}, found {_describe(token)}."
            )
        self.advance()
        return token

    def expect_optional(self, kind: str) -> bool:
        if self.token.kind != kind:
            return False
        self.advance()
        return True

    def expect_keyword(self, keyword: str) -> None:
        if not self.expect_optional_keyword(keyword):
            raise _SyntaxError(
                self.token.start,
                f"Expected '{keyword}', found {_describe(self.token)}.",
            )

    def expect_optional_keyword(self, keyword: str) -> bool:
        if self.token.kind != _NAME or self.token.value != keyword:
            return False
        self.advance()
        return True

    def unexpected(self, token: _Token | None = None) -> _SyntaxError:
        token = token or self.token
        return _SyntaxError(token.start, f"Unexpected {_describe(token)}.")
