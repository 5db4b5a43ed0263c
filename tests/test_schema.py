"""The AppSync prelude: AWS scalars and directives for graphql-core."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from graphql import (
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    execute_sync,
    parse,
    validate,
)

from appsync_iam._schema import (
    AWS_SCALAR_NAMES,
    PRELUDE_SDL,
    AWSScalarSerializationError,
    build_appsync_schema,
)
from appsync_iam.emulator._samples import load_schema_text

# SDL as AppSync accepts it: no declarations of AWS scalars or directives.
REAL_APPSYNC_SDL = """
schema {
  query: Query
  mutation: Mutation
  subscription: Subscription
}

type Post @aws_iam @aws_api_key {
  id: ID!
  title: String! @aws_cognito_user_pools(cognito_groups: ["editors"])
  body: AWSJSON
  author: AWSEmail @aws_oidc
  url: AWSURL @aws_lambda
  phone: AWSPhone
  ip: AWSIPAddress
  day: AWSDate
  at: AWSTime
  created: AWSDateTime
  ts: AWSTimestamp
}

type Query @aws_iam {
  getPost(id: ID!): Post @aws_auth(cognito_groups: ["readers"])
  cached(id: ID!): Post @aws_cache(ttl: 60, keys: ["id"])
}

type Mutation {
  addPost(title: String!): Post @aws_iam @aws_publish(subscriptions: ["onPost"])
}

type Subscription {
  onPost: Post @aws_subscribe(mutations: ["addPost"]) @aws_api_key @aws_iam
}
"""

# As downloaded from the AppSync console: some declarations included.
DOWNLOADED_SDL = '''
"""This directive allows results to be deferred during execution"""
directive @defer on FIELD

"""Tells the service which mutation triggers this subscription."""
directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION

directive @aws_iam on OBJECT | FIELD_DEFINITION

scalar AWSDateTime

type Query @aws_iam {
  now: AWSDateTime
  day: AWSDate
}

type Subscription {
  tick: AWSDateTime @aws_subscribe(mutations: [])
}
'''


def echo_schema() -> GraphQLSchema:
    """A schema with one echo field per AWS scalar: ``AWSDate(v: AWSDate)``."""
    fields = "\n".join(f"  {name}(v: {name}): {name}" for name in AWS_SCALAR_NAMES)
    return build_appsync_schema(f"type Query {{\n{fields}\n}}")


ECHO = echo_schema()


def echo(scalar: str, value: Any) -> dict[str, Any]:
    """Send ``value`` through the ``scalar`` echo field as a variable."""
    document = parse(f"query($v: {scalar}) {{ {scalar}(v: $v) }}")
    result = execute_sync(
        ECHO,
        document,
        root_value={scalar: lambda _info, v=None: v},
        variable_values={"v": value},
    )
    return {"data": result.data, "errors": [e.message for e in result.errors or []]}


VALID: list[tuple[str, Any]] = [
    ("AWSDate", "1970-01-01"),
    ("AWSDate", "1970-01-01Z"),
    ("AWSDate", "1970-01-01-07:00"),
    ("AWSDate", "1970-01-01+05:30"),
    ("AWSDate", "1970-01-01+05:30:15"),
    ("AWSDate", "2024-02-29"),
    ("AWSTime", "12:00"),
    ("AWSTime", "12:00:00"),
    ("AWSTime", "12:30Z"),
    ("AWSTime", "12:30:24-07:00"),
    ("AWSTime", "12:30:24.500+05:30"),
    ("AWSTime", "23:59:59.123456789"),
    ("AWSDateTime", "1970-01-01T12:00Z"),
    ("AWSDateTime", "1970-01-01T12:00:00Z"),
    ("AWSDateTime", "1970-01-01T12:00:00.000Z"),
    ("AWSDateTime", "2020-01-01T00:00+00:00"),
    ("AWSDateTime", "1970-01-01T12:30:24.5-07:00"),
    ("AWSDateTime", "1970-01-01T12:30:24+05:30:15"),
    ("AWSTimestamp", 0),
    ("AWSTimestamp", -123),
    ("AWSTimestamp", 1_700_000_000),
    ("AWSTimestamp", 2**40),
    ("AWSEmail", "example@example.com"),
    ("AWSEmail", "first.last+tag@sub.example.co.uk"),
    ("AWSEmail", "a@b.io"),
    ("AWSURL", "https://example.com"),
    ("AWSURL", "http://example.com/a/b?c=d#e"),
    ("AWSURL", "mailto:someone@example.com"),
    ("AWSURL", "ftp://host:21/file"),
    ("AWSURL", "urn:isbn:0451450523"),
    ("AWSPhone", "+44 20 7946 0958"),
    ("AWSPhone", "+61-2-9999-9999"),
    ("AWSPhone", "+1 206 555 0100"),
    ("AWSPhone", "2065550100"),
    ("AWSPhone", "206-555-0100"),
    ("AWSPhone", "206 555 0100"),
    ("AWSPhone", "1-206-555-0100"),
    ("AWSIPAddress", "123.12.34.56"),
    ("AWSIPAddress", "1.2.3.4/32"),
    ("AWSIPAddress", "10.0.0.0/8"),
    ("AWSIPAddress", "1a2b:3c4b::1234:4567"),
    ("AWSIPAddress", "::1"),
    ("AWSIPAddress", "2001:db8::/32"),
]

INVALID: list[tuple[str, Any]] = [
    ("AWSDate", "1970-1-1"),
    ("AWSDate", "1970-13-01"),
    ("AWSDate", "2023-02-29"),
    ("AWSDate", "1970-01-01T00:00Z"),
    ("AWSDate", "19700101"),
    ("AWSDate", "1970-01-01+25:00"),
    ("AWSDate", ""),
    ("AWSDate", 19700101),
    ("AWSTime", "24:00"),
    ("AWSTime", "12:60"),
    ("AWSTime", "12"),
    ("AWSTime", "12:00:00."),
    ("AWSTime", "12:00:00.1234567890"),
    ("AWSTime", "noon"),
    ("AWSTime", 1200),
    ("AWSDateTime", "1970-01-01T12:00:00"),
    ("AWSDateTime", "1970-01-01"),
    ("AWSDateTime", "1970-01-01 12:00:00Z"),
    ("AWSDateTime", "1970-02-30T00:00Z"),
    ("AWSDateTime", "2020-05-23T06:4:37.000Z"),
    ("AWSDateTime", 0),
    ("AWSTimestamp", "1700000000"),
    ("AWSTimestamp", 1.5),
    ("AWSTimestamp", True),
    ("AWSTimestamp", "abc"),
    ("AWSEmail", "example"),
    ("AWSEmail", "@example.com"),
    ("AWSEmail", "a@"),
    ("AWSEmail", "a b@example.com"),
    ("AWSEmail", "a@example"),
    ("AWSEmail", 5),
    ("AWSJSON", "{a: 1}"),
    ("AWSJSON", "not json"),
    ("AWSJSON", ""),
    ("AWSJSON", 3),
    ("AWSJSON", {"a": 1}),
    ("AWSURL", "example.com"),
    ("AWSURL", "https://"),
    ("AWSURL", "http://example.com//double"),
    ("AWSURL", "://x"),
    ("AWSURL", "https://exa mple.com"),
    ("AWSURL", 3),
    ("AWSPhone", "1110004444"),
    ("AWSPhone", "555-0100"),
    ("AWSPhone", "+0 123 4567 890"),
    ("AWSPhone", "(206) 555-0100"),
    ("AWSPhone", "phone"),
    ("AWSPhone", "+1234567890123456"),
    ("AWSPhone", 2065550100),
    ("AWSIPAddress", "256.1.1.1"),
    ("AWSIPAddress", "1.2.3"),
    ("AWSIPAddress", "1.2.3.4/33"),
    ("AWSIPAddress", "not an ip"),
    ("AWSIPAddress", "1.2.3.4/"),
    ("AWSIPAddress", 1234),
]

NOUNS = {
    "AWSDate": "date",
    "AWSTime": "time",
    "AWSDateTime": "DateTime Object",
    "AWSTimestamp": "timestamp",
    "AWSEmail": "Email",
    "AWSJSON": "JSON Object",
    "AWSURL": "URL",
    "AWSPhone": "phone number",
    "AWSIPAddress": "IP Address",
}


class TestPrelude:
    """Real AppSync SDL builds with graphql-core once the prelude is added."""

    def test_real_appsync_sdl_builds(self) -> None:
        """SDL using AWS scalars and @aws_* directives without declaring them builds."""
        schema = build_appsync_schema(REAL_APPSYNC_SDL)
        assert schema.query_type is not None and schema.query_type.name == "Query"
        assert schema.subscription_type is not None
        for name in AWS_SCALAR_NAMES:
            assert isinstance(schema.type_map[name], GraphQLScalarType)
        names = {d.name for d in schema.directives}
        assert {"aws_iam", "aws_subscribe", "aws_cognito_user_pools"} <= names

    def test_plain_graphql_core_rejects_the_same_sdl(self) -> None:
        """Without the prelude graphql-core refuses AppSync SDL: the prelude matters."""
        with pytest.raises(TypeError, match="AWS|aws_"):
            build_schema(REAL_APPSYNC_SDL)

    def test_sdl_declaring_part_of_the_prelude_builds(self) -> None:
        """Declarations already in the SDL (console downloads) are not duplicated."""
        schema = build_appsync_schema(DOWNLOADED_SDL)
        directive_names = [d.name for d in schema.directives]
        assert directive_names.count("aws_subscribe") == 1
        assert "defer" in directive_names
        result = execute_sync(
            schema, parse("{ day }"), root_value={"day": lambda _i: "2020-02-30"}
        )
        assert result.errors and "Unable to serialize" in result.errors[0].message

    def test_schema_block_with_custom_root_names(self) -> None:
        """A ``schema { query: ... }`` block with non-default root names is honoured."""
        schema = build_appsync_schema(
            "schema { query: Q mutation: M }\n"
            "type Q @aws_iam { a: AWSDate }\ntype M { b: AWSJSON @aws_api_key }"
        )
        assert schema.query_type is not None and schema.query_type.name == "Q"
        assert schema.mutation_type is not None and schema.mutation_type.name == "M"

    def test_user_declared_aws_scalar_still_validates(self) -> None:
        """An AWS scalar declared by the SDL itself still gets AppSync's validation."""
        schema = build_appsync_schema(DOWNLOADED_SDL)
        scalar = schema.type_map["AWSDateTime"]
        assert isinstance(scalar, GraphQLScalarType)
        with pytest.raises(GraphQLError):
            scalar.coerce_input_value("yesterday")

    def test_invalid_sdl_raises(self) -> None:
        """SDL with an unknown directive is still an error (nothing is swallowed)."""
        with pytest.raises(TypeError, match="nope"):
            build_appsync_schema("type Query { a: String @nope }")

    @pytest.mark.parametrize("name", ["chat", "todos"])
    def test_samples_build(self, name: str) -> None:
        """Each bundled sample schema builds with the prelude."""
        schema = build_appsync_schema(load_schema_text(name))
        assert schema.subscription_type is not None

    def test_prelude_parses_on_its_own(self) -> None:
        """The prelude text itself is valid SDL."""
        schema = build_appsync_schema(PRELUDE_SDL + "\ntype Query { a: Int }")
        assert "AWSJSON" in schema.type_map

    def test_importable_without_botocore(self) -> None:
        """The client-side prelude module does not import botocore."""
        code = "import sys, appsync_iam._schema; print('botocore' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        assert out.stdout.strip() == "False"


class TestScalarInput:
    """Each AWS scalar accepts AppSync's documented forms and rejects others."""

    @pytest.mark.parametrize(("scalar", "value"), VALID)
    def test_valid_variable_is_accepted(self, scalar: str, value: Any) -> None:
        """A valid variable value passes and comes back unchanged."""
        assert echo(scalar, value) == {"data": {scalar: value}, "errors": []}

    @pytest.mark.parametrize(("scalar", "value"), INVALID)
    def test_invalid_variable_is_rejected(self, scalar: str, value: Any) -> None:
        """An invalid variable value gives AppSync's 'Unable to parse' error."""
        result = echo(scalar, value)
        assert result["data"] is None
        assert len(result["errors"]) == 1
        assert f"as a valid {NOUNS[scalar]}." in result["errors"][0]
        assert "Unable to parse" in result["errors"][0]

    @pytest.mark.parametrize(("scalar", "value"), VALID)
    def test_valid_literal_is_accepted(self, scalar: str, value: Any) -> None:
        """A valid inline literal passes validation."""
        literal = json.dumps(value)
        assert validate(ECHO, parse(f"{{ {scalar}(v: {literal}) }}")) == []

    @pytest.mark.parametrize(
        ("scalar", "value"),
        [(s, v) for s, v in INVALID if not isinstance(v, dict | bool | float)],
    )
    def test_invalid_literal_is_rejected(self, scalar: str, value: Any) -> None:
        """An invalid inline literal fails validation at the literal's location."""
        literal = json.dumps(value)
        errors = validate(ECHO, parse(f"{{ {scalar}(v: {literal}) }}"))
        assert len(errors) == 1
        assert f"as a valid {NOUNS[scalar]}." in errors[0].message
        assert errors[0].locations

    @pytest.mark.parametrize(
        "text", ['{"a": 1, "b": [true, null]}', "[1, 2]", '"text"', "3", "{}"]
    )
    def test_awsjson_input_is_parsed_and_output_is_a_json_string(
        self, text: str
    ) -> None:
        """AWSJSON: resolvers see the parsed value; the response holds JSON text."""
        seen: list[Any] = []

        def resolve(_info: Any, v: Any = None) -> Any:
            seen.append(v)
            return v

        result = execute_sync(
            ECHO,
            parse("query($v: AWSJSON) { AWSJSON(v: $v) }"),
            root_value={"AWSJSON": resolve},
            variable_values={"v": text},
        )
        assert result.errors is None
        assert seen == [json.loads(text)]
        assert result.data is not None
        out = result.data["AWSJSON"]
        assert isinstance(out, str) and json.loads(out) == json.loads(text)


class TestScalarOutput:
    """Resolver results are checked and Python objects serialized."""

    @pytest.mark.parametrize(
        ("scalar", "value", "expected"),
        [
            (
                "AWSDateTime",
                datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc),
                "2024-01-02T03:04:05.006Z",
            ),
            (
                "AWSDateTime",
                datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-7))),
                "2024-01-02T03:04:05.000-07:00",
            ),
            ("AWSDate", date(2024, 1, 2), "2024-01-02"),
            ("AWSTime", time(3, 4, 5), "03:04:05.000"),
            (
                "AWSTime",
                time(3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30))),
                "03:04:05.000+05:30",
            ),
            (
                "AWSTimestamp",
                datetime(2024, 1, 1, tzinfo=timezone.utc),
                1_704_067_200,
            ),
            ("AWSIPAddress", ipaddress.ip_address("10.1.2.3"), "10.1.2.3"),
            ("AWSIPAddress", ipaddress.ip_network("10.0.0.0/8"), "10.0.0.0/8"),
            ("AWSJSON", {"a": [1, "é"]}, '{"a":[1,"é"]}'),
            ("AWSJSON", '{"already": "json"}', '{"already": "json"}'),
            ("AWSJSON", "plain text", '"plain text"'),
        ],
    )
    def test_python_values_serialize(
        self, scalar: str, value: Any, expected: Any
    ) -> None:
        """Python objects become AppSync's documented string forms."""
        type_ = ECHO.type_map[scalar]
        assert isinstance(type_, GraphQLScalarType)
        assert type_.coerce_output_value(value) == expected

    @pytest.mark.parametrize(
        ("scalar", "value"),
        [
            ("AWSDateTime", "2020-05-23T06:4:37.000Z"),
            ("AWSDateTime", datetime(2024, 1, 2)),  # naive: no offset
            ("AWSDate", datetime(2024, 1, 2, tzinfo=timezone.utc)),
            ("AWSEmail", "nobody"),
            ("AWSTimestamp", "123"),
            ("AWSJSON", float("nan")),
            ("AWSJSON", object()),
            ("AWSURL", "example.com"),
        ],
    )
    def test_invalid_results_fail_serialization(self, scalar: str, value: Any) -> None:
        """A resolver value the scalar cannot represent raises 'Unable to serialize'."""
        type_ = ECHO.type_map[scalar]
        assert isinstance(type_, GraphQLScalarType)
        with pytest.raises(AWSScalarSerializationError, match="Unable to serialize"):
            type_.coerce_output_value(value)
