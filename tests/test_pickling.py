"""Every public error pickles with its attributes (multiprocessing users).

The classes are found by introspection: every exception class exported by
``appsync_iam`` or ``appsync_iam.emulator``, and the gql twin of each (the
class an error gets when it leaves ``AppSyncIAMTransport``). Each is built
with every constructor argument set to a non-default value, pickled with
every protocol, and loaded in this process and in a fresh interpreter.
"""

from __future__ import annotations

import base64
import inspect
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gql import Client, gql
from gql.transport import exceptions as gql_errors

import appsync_iam
import appsync_iam.emulator
from appsync_iam import AppSyncError, AppSyncIAMTransport, GraphQLResponseError
from appsync_iam._transport import _gql_twin
from appsync_iam.emulator import AppSyncEmulator

ROOT = Path(__file__).resolve().parent.parent

# A distinctive value for each constructor parameter name of a public error.
# A new error with a parameter not listed here fails test_every_parameter_
# has_a_sample: add a value that is not the parameter's default.
SAMPLES: dict[str, Any] = {
    "message": "the message",
    "sent": True,
    "status": 403,
    "error_type": "InvalidSignatureException",
    "request_id": "req-1234",
    "retry_after": 1.5,
    "errors": [{"message": "boom", "errorType": "Custom", "path": ["a", 0]}],
    "data": {"partial": [1, 2]},
    "connection_lost": True,
    "error_info": {"hint": "retry"},
    "reason": "mismatch",
    "details": {"Region": "eu-west-1"},
}


def _exported(module: Any) -> list[type[BaseException]]:
    found = []
    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            found.append(obj)
    return found


PUBLIC = _exported(appsync_iam) + _exported(appsync_iam.emulator)
TWINS = [
    twin
    for cls in PUBLIC
    if issubclass(cls, AppSyncError) and (twin := _gql_twin(cls)) is not None
]
CLASSES = PUBLIC + TWINS


def _label(cls: type[BaseException]) -> str:
    return f"{cls.__qualname__}{'-gql' if cls in TWINS else ''}"


def _parameters(cls: type[BaseException]) -> list[inspect.Parameter]:
    signature = inspect.signature(cls.__init__)
    return [p for p in signature.parameters.values() if p.name != "self"]


def build(cls: type[BaseException]) -> BaseException:
    """An instance with every argument set (keyword-only ones by name)."""
    args, kwargs = [], {}
    for parameter in _parameters(cls):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            args.append(SAMPLES["message"])
            continue
        value = SAMPLES[parameter.name]
        if parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = value
        else:
            args.append(value)
    error = cls(*args, **kwargs)
    # What add_note() (3.11+) stores; set directly so 3.10 runs this too.
    error.__notes__ = ["a note added by the caller"]
    return error


def describe(error: BaseException) -> dict[str, Any]:
    """What must survive pickling, as JSON-comparable values."""
    return {
        "type": f"{type(error).__module__}.{type(error).__qualname__}",
        "mro": [f"{c.__module__}.{c.__qualname__}" for c in type(error).__mro__],
        "args": repr(error.args),
        "attributes": repr(sorted(vars(error).items())),
        "str": str(error),
        "repr": repr(error),
    }


def test_introspection_finds_the_error_tree() -> None:
    """The public tree and its gql twins are all found (no hand list)."""
    names = {cls.__qualname__ for cls in PUBLIC}
    assert {"AppSyncError", "HTTPStatusError", "SubscriptionError"} <= names
    assert {"SignatureRejected", "AppSyncResolverError"} <= names
    assert len(PUBLIC) >= 13
    # The four roots gql has a twin for, and every subclass of them.
    assert len(TWINS) >= 7
    assert all(issubclass(t, gql_errors.TransportError) for t in TWINS)


@pytest.mark.parametrize("cls", CLASSES, ids=_label)
def test_every_parameter_has_a_sample(cls: type[BaseException]) -> None:
    """Each constructor argument gets a value that differs from its default."""
    for parameter in _parameters(cls):
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        assert parameter.name in SAMPLES, f"add a sample for {parameter.name!r}"
        assert SAMPLES[parameter.name] != parameter.default


@pytest.mark.parametrize("cls", CLASSES, ids=_label)
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_round_trip_keeps_class_and_attributes(
    cls: type[BaseException], protocol: int
) -> None:
    """Same class (gql bases included), args, attributes, notes, str and repr."""
    error = build(cls)
    loaded = pickle.loads(pickle.dumps(error, protocol=protocol))
    assert type(loaded) is type(error)
    assert describe(loaded) == describe(error)
    assert loaded.__notes__ == ["a note added by the caller"]
    for name in SAMPLES:
        if hasattr(error, name):
            assert getattr(loaded, name) == getattr(error, name), name


def test_a_fresh_interpreter_loads_every_error() -> None:
    """Pickles load where nothing of appsync_iam is imported yet (a worker)."""
    errors = [build(cls) for cls in CLASSES]
    payload = base64.b64encode(pickle.dumps(errors)).decode()
    code = (
        "import base64, json, pickle, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from tests.test_pickling import describe\n"
        "errors = pickle.loads(base64.b64decode(sys.stdin.read()))\n"
        "print(json.dumps([describe(e) for e in errors]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code, str(ROOT)],
        input=payload,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [describe(e) for e in errors]


async def test_an_error_raised_under_gql_client_round_trips(
    appsync_emulator: AppSyncEmulator,
) -> None:
    """A real GraphQL error from gql.Client is still a TransportQueryError after."""
    transport = AppSyncIAMTransport(
        appsync_emulator.url, credentials=appsync_emulator.credentials
    )
    async with Client(transport=transport) as session:
        with pytest.raises(GraphQLResponseError) as info:
            await session.execute(gql("query { noSuchField }"))
    error = info.value
    assert isinstance(error, gql_errors.TransportQueryError)
    loaded = pickle.loads(pickle.dumps(error))
    assert isinstance(loaded, GraphQLResponseError)
    assert isinstance(loaded, gql_errors.TransportQueryError)
    assert loaded.errors == error.errors and loaded.errors
    assert loaded.request_id == error.request_id
    assert str(loaded) == str(error)
