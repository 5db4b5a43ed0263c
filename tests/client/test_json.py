"""Request bodies and answers: orjson when installed, the stdlib exactly otherwise.

The request path builds a body from a cached ``{"query":...`` head and the
variables; these tests hold it to the stdlib encoding of the whole payload
(byte for byte without orjson, same JSON with it) and to the same errors.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest

from appsync_iam import ConfigurationError
from appsync_iam._http import decode_answer, encode_payload, encode_request

Q = "query Q($id: ID!) { getRoom(id: $id) { id name } }"


class Color(enum.Enum):
    RED = "red"


class Flag(enum.IntEnum):
    ON = 1


@dataclasses.dataclass
class Point:
    x: int


class Text(str):
    pass


# (query, operation name, variables, extensions): JSON values only.
CASES: list[tuple[str, str | None, Any, Any]] = [
    (Q, None, None, None),
    (Q, "Q", {"id": "room-1"}, None),
    (Q, None, {"id": "ünïcode ✓", "n": 1, "f": 0.1, "e": 1e-05, "z": None}, None),
    (Q, None, {"deep": [[{"a": [1, 2, {"b": True}]}]], "big": 2**70}, {"x": 1}),
    ("query { é }", "Op", {1: "int key", "s": Text("sub")}, None),
    (Q, None, {"flag": Flag.ON, "list": (1, 2)}, None),
    ('query { x(s: "\\ud800") }', None, {"s": "\ud800"}, None),  # lone surrogate
    (Q, None, {"id": "x"}, {"persistedQuery": {"sha256Hash": "ab"}}),
    (Q, None, {}, {}),
]
# What JSON cannot carry, whatever encodes it.
REFUSED: list[Any] = [
    {"x": math.nan},
    {"x": [math.inf]},
    {"x": {1, 2}},
    {"x": b"bytes"},
    {"x": uuid.UUID(int=1)},
    {"x": Color.RED},
    {"x": datetime.date(2024, 1, 1)},
    {"x": Point(1)},
]


def payload(query: str, name: str | None, variables: Any, ext: Any) -> bytes:
    body: dict[str, Any] = {"query": query}
    if name:
        body["operationName"] = name
    if variables:
        body["variables"] = variables
    if ext:
        body["extensions"] = ext
    return encode_payload(body)


@pytest.mark.parametrize("case", CASES)
def test_same_json_as_the_stdlib(case: tuple[str, str | None, Any, Any]) -> None:
    """Twice (the second time from the cached head): the same JSON document."""
    expected = payload(*case)
    for _ in range(2):
        body = encode_request(*case)
        assert json.loads(body) == json.loads(expected)
        assert body.startswith(b'{"query":')


@pytest.mark.parametrize("variables", REFUSED)
def test_refused_like_the_stdlib(variables: Any) -> None:
    with pytest.raises(ConfigurationError, match="nothing was sent"):
        encode_payload({"query": Q, "variables": variables})
    with pytest.raises(ConfigurationError, match="nothing was sent"):
        encode_request(Q, None, variables, None)


def test_answers_parse_like_the_stdlib() -> None:
    for raw in [
        b'{"data":{"a":1,"b":[true,null,0.5,"\\u00e9"]}}',
        b'{"data":{"s":"\\ud800"}}',  # orjson refuses a lone surrogate escape
        b'{"data":{"x":NaN}}',  # not JSON, but the stdlib has always taken it
    ]:
        assert repr(decode_answer(raw)) == repr(json.loads(raw))
    with pytest.raises(ValueError):
        decode_answer(b"<html>")


def test_without_orjson_bytes_are_the_stdlibs() -> None:
    """In a process where orjson cannot be imported: byte-exact bodies."""
    script = textwrap.dedent(
        """
        import json, sys
        sys.modules["orjson"] = None  # import orjson -> ImportError
        sys.path.insert(0, sys.argv[1])
        import test_json as t
        from appsync_iam._http import _orjson, decode_answer, encode_request
        assert _orjson is None
        for case in t.CASES:
            for _ in range(2):
                assert encode_request(*case) == t.payload(*case), case
        t.test_answers_parse_like_the_stdlib()
        for variables in t.REFUSED:
            t.test_refused_like_the_stdlib(variables)
        print("ok", len(t.CASES))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ok", str(len(CASES))]
