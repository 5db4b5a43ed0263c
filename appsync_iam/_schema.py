"""The AppSync prelude: AWS scalars and directives for graphql-core.

AppSync schemas use the ``AWS*`` scalars and the ``@aws_*`` directives without
declaring them, so plain graphql-core rejects real AppSync SDL.
:func:`build_appsync_schema` adds the missing declarations (:data:`PRELUDE_SDL`)
and gives each AWS scalar AppSync's validation. The client and the CLI can use
it to validate operations offline; the emulator executes with it. This module
imports neither botocore nor aiohttp.

Scalar formats, as documented in the AppSync developer guide ("Scalar types"):

==============  ==============================================================
AWSDate         ``YYYY-MM-DD``, optional zone offset ``Z`` or ``±hh:mm[:ss]``
AWSTime         ``hh:mm[:ss[.fffffffff]]``, optional zone offset
AWSDateTime     ``YYYY-MM-DDThh:mm[:ss[.fffffffff]]`` + mandatory offset
AWSTimestamp    integer seconds since the epoch (negative allowed)
AWSEmail        ``local@domain.tld``
AWSJSON         a string holding JSON; resolvers see the parsed value, output
                is serialized back to a JSON string
AWSURL          ``scheme:rest`` (``http://host/p``, ``mailto:a@b.c``), no
                ``//`` inside the path
AWSPhone        ``+`` and country code (8 to 15 digits), or a 10-digit North
                American (NANP) number; digit groups separated by spaces or
                hyphens
AWSIPAddress    IPv4 or IPv6, optional ``/prefix``
==============  ==============================================================

An invalid input gives AppSync's message, for instance ``Unable to parse
`1110004444` as a valid phone number.``; an invalid resolver result gives
``Unable to serialize `x` as a valid DateTime Object.``

Resolvers may also return ``datetime``/``date``/``time`` objects (aware ones
for AWSDateTime) and Python values for AWSJSON; they are serialized to the
documented string forms.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from graphql import (
    BooleanValueNode,
    ConstValueNode,
    DirectiveDefinitionNode,
    DocumentNode,
    FloatValueNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    IntValueNode,
    ScalarTypeDefinitionNode,
    StringValueNode,
    build_ast_schema,
    parse,
    print_ast,
)

__all__ = [
    "AWS_SCALAR_NAMES",
    "PRELUDE_SDL",
    "AWSScalarSerializationError",
    "build_appsync_schema",
]

#: Scalar and directive declarations that AppSync provides implicitly.
PRELUDE_SDL = '''
"""A date, ``YYYY-MM-DD`` with an optional zone offset."""
scalar AWSDate
"""A time, ``hh:mm[:ss[.sss]]`` with an optional zone offset."""
scalar AWSTime
"""An ISO 8601 date and time with a mandatory zone offset."""
scalar AWSDateTime
"""Seconds since 1970-01-01T00:00Z."""
scalar AWSTimestamp
"""An email address."""
scalar AWSEmail
"""A JSON document, sent and returned as a string."""
scalar AWSJSON
"""A URL with a scheme."""
scalar AWSURL
"""A phone number."""
scalar AWSPhone
"""An IPv4 or IPv6 address with an optional prefix."""
scalar AWSIPAddress

"""The field or type is authorized by IAM (SigV4)."""
directive @aws_iam on OBJECT | FIELD_DEFINITION
"""The field or type is authorized by an API key."""
directive @aws_api_key on OBJECT | FIELD_DEFINITION
"""The field or type is authorized by an OpenID Connect token."""
directive @aws_oidc on OBJECT | FIELD_DEFINITION
"""The field or type is authorized by a Lambda authorizer."""
directive @aws_lambda on OBJECT | FIELD_DEFINITION
"""The field or type is authorized by Cognito user pools (optionally groups)."""
directive @aws_cognito_user_pools(cognito_groups: [String]) on OBJECT | FIELD_DEFINITION
"""Legacy Cognito group authorization on a field."""
directive @aws_auth(cognito_groups: [String]) on OBJECT | FIELD_DEFINITION
"""The mutations whose results this subscription receives."""
directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION
"""Deprecated: the subscriptions this mutation publishes to."""
directive @aws_publish(subscriptions: [String]) on FIELD_DEFINITION
"""Per-field caching settings."""
directive @aws_cache(ttl: Int, keys: [String]) on FIELD_DEFINITION
"""Merged APIs: this source type or field wins conflicts."""
directive @canonical on OBJECT | FIELD_DEFINITION | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
"""Merged APIs: hide this source type or field from the merged API."""
directive @hidden on OBJECT | FIELD_DEFINITION | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
"""Merged APIs: rename this source type or field in the merged API."""
directive @renamed(to: String!) on OBJECT | FIELD_DEFINITION | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
'''  # noqa: E501

AWS_SCALAR_NAMES = (
    "AWSDate",
    "AWSTime",
    "AWSDateTime",
    "AWSTimestamp",
    "AWSEmail",
    "AWSJSON",
    "AWSURL",
    "AWSPhone",
    "AWSIPAddress",
)

_PRELUDE_DOC = parse(PRELUDE_SDL, no_location=True)


class AWSScalarSerializationError(ValueError):
    """A resolver returned a value that its AWS scalar cannot represent."""


# --------------------------------------------------------------------------
# Validation of the string forms
# --------------------------------------------------------------------------

_OFFSET = r"(?:Z|[+-]\d{2}:\d{2}(?::\d{2})?)"
_DATE_RE = re.compile(rf"(\d{{4}})-(\d{{2}})-(\d{{2}})({_OFFSET})?")
_TIME = r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
_TIME_RE = re.compile(rf"{_TIME}({_OFFSET})?")
_DATETIME_RE = re.compile(rf"(\d{{4}})-(\d{{2}})-(\d{{2}})T{_TIME}({_OFFSET})")
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(.+)", re.DOTALL)
_PHONE_RE = re.compile(r"(\+)?[0-9]+(?:[ -][0-9]+)*")


def _valid_offset(offset: str | None) -> bool:
    if not offset or offset == "Z":
        return True
    parts = [int(p) for p in offset[1:].split(":")]
    return parts[0] <= 23 and all(p <= 59 for p in parts[1:])


def _valid_ymd(y: str, m: str, d: str) -> bool:
    try:
        date(int(y), int(m), int(d))
    except ValueError:
        return False
    return True


def _valid_hms(h: str, m: str, s: str | None) -> bool:
    return int(h) <= 23 and int(m) <= 59 and (s is None or int(s) <= 59)


def is_aws_date(value: str) -> bool:
    """Whether ``value`` is a valid AWSDate string."""
    match = _DATE_RE.fullmatch(value)
    if not match:
        return False
    y, m, d, offset = match.groups()
    return _valid_ymd(y, m, d) and _valid_offset(offset)


def is_aws_time(value: str) -> bool:
    """Whether ``value`` is a valid AWSTime string."""
    match = _TIME_RE.fullmatch(value)
    if not match:
        return False
    h, m, s, _frac, offset = match.groups()
    return _valid_hms(h, m, s) and _valid_offset(offset)


def is_aws_datetime(value: str) -> bool:
    """Whether ``value`` is a valid AWSDateTime string (offset mandatory)."""
    match = _DATETIME_RE.fullmatch(value)
    if not match:
        return False
    y, mo, d, h, mi, s, _frac, offset = match.groups()
    return _valid_ymd(y, mo, d) and _valid_hms(h, mi, s) and _valid_offset(offset)


def is_aws_email(value: str) -> bool:
    """Whether ``value`` is a valid AWSEmail string."""
    return len(value) <= 254 and bool(_EMAIL_RE.fullmatch(value))


def is_aws_url(value: str) -> bool:
    """Whether ``value`` is a valid AWSURL string (scheme required)."""
    if any(c.isspace() for c in value):
        return False
    match = _SCHEME_RE.fullmatch(value)
    if not match:
        return False
    rest = match.group(2)
    if rest.startswith("//"):
        after = rest[2:]
        end = min((i for i in (after.find(c) for c in "/?#") if i >= 0), default=-1)
        authority = after if end < 0 else after[:end]
        if not authority:
            return False
        path = "" if end < 0 else after[end:]
        return "//" not in path.split("?")[0].split("#")[0]
    return "//" not in rest.split("?")[0].split("#")[0]


def is_aws_phone(value: str) -> bool:
    """Whether ``value`` is a valid AWSPhone string."""
    match = _PHONE_RE.fullmatch(value.strip())
    if not match:
        return False
    digits = re.sub(r"[^0-9]", "", value)
    if match.group(1):  # international form: +<country code><number>
        return 8 <= len(digits) <= 15 and digits[0] != "0"
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    # North American Numbering Plan: NXX-NXX-XXXX with N in 2..9.
    return len(digits) == 10 and digits[0] >= "2" and digits[3] >= "2"


def is_aws_ip_address(value: str) -> bool:
    """Whether ``value`` is a valid AWSIPAddress string."""
    try:
        ipaddress.ip_interface(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------
# Scalar coercion functions
# --------------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _parse_error(
    value: Any, noun: str, node: ConstValueNode | None = None
) -> GraphQLError:
    return GraphQLError(f"Unable to parse `{_show(value)}` as a valid {noun}.", node)


def _serialize_error(value: Any, noun: str) -> AWSScalarSerializationError:
    return AWSScalarSerializationError(
        f"Unable to serialize `{_show(value)}` as a valid {noun}."
    )


def _literal_python(node: ConstValueNode) -> Any:
    """The raw Python value of a scalar literal, for error messages."""
    if isinstance(node, StringValueNode | BooleanValueNode):
        return node.value
    if isinstance(node, IntValueNode):
        return int(node.value)
    if isinstance(node, FloatValueNode):
        return float(node.value)
    return print_ast(node)


def _format_offset(value: datetime | time) -> str:
    offset = value.utcoffset()
    if offset is None:
        return ""
    if offset == timedelta(0):
        return "Z"
    sign = "-" if offset < timedelta(0) else "+"
    seconds = int(abs(offset).total_seconds())
    hh, rem = divmod(seconds, 3600)
    mm, ss = divmod(rem, 60)
    text = f"{sign}{hh:02d}:{mm:02d}"
    return text + (f":{ss:02d}" if ss else "")


def _format_time(value: datetime | time) -> str:
    text = f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    return text + f".{value.microsecond // 1000:03d}"


class _StringLiteral:
    """Scalars written as GraphQL string literals (every AWS one but AWSTimestamp)."""

    noun: str

    def coerce_input_value(self, value: Any) -> Any:
        raise NotImplementedError

    def coerce_input_literal(self, node: ConstValueNode) -> Any:
        if isinstance(node, StringValueNode):
            try:
                return self.coerce_input_value(node.value)
            except GraphQLError:
                pass
        raise _parse_error(_literal_python(node), self.noun, node)


class _StringScalar(_StringLiteral):
    """A string scalar checked by a predicate; ``to_string`` maps Python objects."""

    def __init__(
        self,
        noun: str,
        check: Callable[[str], bool],
        to_string: Callable[[Any], str | None] = lambda _v: None,
    ) -> None:
        self.noun = noun
        self.check = check
        self.to_string = to_string

    def coerce_input_value(self, value: Any) -> Any:
        if isinstance(value, str) and self.check(value):
            return value
        raise _parse_error(value, self.noun)

    def coerce_output_value(self, value: Any) -> Any:
        if isinstance(value, str):
            if self.check(value):
                return value
            raise _serialize_error(value, self.noun)
        text = self.to_string(value)
        if text is not None and self.check(text):
            return text
        raise _serialize_error(value, self.noun)


def _date_to_string(value: Any) -> str | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return None


def _time_to_string(value: Any) -> str | None:
    if isinstance(value, time):
        return _format_time(value) + _format_offset(value)
    return None


def _datetime_to_string(value: Any) -> str | None:
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return f"{value.date().isoformat()}T{_format_time(value)}" + _format_offset(
            value
        )
    return None


def _ip_to_string(value: Any) -> str | None:
    if isinstance(
        value,
        ipaddress.IPv4Address
        | ipaddress.IPv6Address
        | ipaddress.IPv4Interface
        | ipaddress.IPv6Interface
        | ipaddress.IPv4Network
        | ipaddress.IPv6Network,
    ):
        return str(value)
    return None


class _TimestampScalar:
    noun = "timestamp"

    def coerce_input_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _parse_error(value, self.noun)

    def coerce_input_literal(self, node: ConstValueNode) -> Any:
        if isinstance(node, IntValueNode):
            return int(node.value)
        raise _parse_error(_literal_python(node), self.noun, node)

    def coerce_output_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, datetime) and value.utcoffset() is not None:
            return math.floor(value.timestamp())
        raise _serialize_error(value, self.noun)


class _JSONScalar(_StringLiteral):
    """AWSJSON: a JSON string on the wire, the parsed value for resolvers.

    Output: a Python ``str`` that already holds valid JSON is returned as is
    (resolvers commonly return ``json.dumps(...)``); anything else is dumped.
    """

    noun = "JSON Object"

    def coerce_input_value(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise _parse_error(value, self.noun)
        try:
            return json.loads(value)
        except ValueError:
            raise _parse_error(value, self.noun) from None

    def coerce_output_value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError:
                pass
            else:
                return value
        try:
            return json.dumps(
                value, ensure_ascii=False, allow_nan=False, separators=(",", ":")
            )
        except (TypeError, ValueError):
            raise _serialize_error(value, self.noun) from None


_SCALARS: dict[str, Any] = {
    "AWSDate": _StringScalar("date", is_aws_date, _date_to_string),
    "AWSTime": _StringScalar("time", is_aws_time, _time_to_string),
    "AWSDateTime": _StringScalar(
        "DateTime Object", is_aws_datetime, _datetime_to_string
    ),
    "AWSTimestamp": _TimestampScalar(),
    "AWSEmail": _StringScalar("Email", is_aws_email),
    "AWSJSON": _JSONScalar(),
    "AWSURL": _StringScalar("URL", is_aws_url),
    "AWSPhone": _StringScalar("phone number", is_aws_phone),
    "AWSIPAddress": _StringScalar("IP Address", is_aws_ip_address, _ip_to_string),
}


def _install_scalar(scalar: GraphQLScalarType) -> None:
    impl = _SCALARS[scalar.name]
    scalar.coerce_input_value = impl.coerce_input_value
    scalar.coerce_input_literal = impl.coerce_input_literal
    scalar.coerce_output_value = impl.coerce_output_value
    scalar.specified_by_url = scalar.specified_by_url or (
        "https://docs.aws.amazon.com/appsync/latest/devguide/scalars.html"
    )


# --------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------


def _declared_names(document: DocumentNode) -> tuple[set[str], set[str]]:
    types: set[str] = set()
    directives: set[str] = set()
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            directives.add(definition.name.value)
        else:
            name = getattr(definition, "name", None)
            if name is not None:
                types.add(name.value)
    return types, directives


def with_prelude(document: DocumentNode) -> DocumentNode:
    """``document`` plus each prelude declaration it does not already declare."""
    types, directives = _declared_names(document)
    extra = []
    for definition in _PRELUDE_DOC.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            if definition.name.value in directives:
                continue
        elif isinstance(definition, ScalarTypeDefinitionNode):
            if definition.name.value in types:
                continue
        extra.append(definition)
    return DocumentNode(definitions=(*document.definitions, *extra))


def build_appsync_schema(sdl: str) -> GraphQLSchema:
    """Build a graphql-core schema from AppSync SDL.

    The SDL may omit the AWS scalars and ``@aws_*`` directives (as AppSync SDL
    does) or declare some of them (as schemas downloaded from the console do);
    missing ones come from :data:`PRELUDE_SDL`. A ``schema { query: ... }``
    block is honoured. Raises :class:`graphql.GraphQLError` for invalid SDL.
    """
    schema = build_ast_schema(with_prelude(parse(sdl)))
    for name in AWS_SCALAR_NAMES:
        scalar = schema.type_map.get(name)
        if isinstance(scalar, GraphQLScalarType):
            _install_scalar(scalar)
    return schema
