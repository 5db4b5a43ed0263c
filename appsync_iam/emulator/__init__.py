"""A local AWS AppSync that really verifies IAM (SigV4) signatures.

:class:`AppSyncEmulator` serves a GraphQL schema over HTTP (``POST /graphql``)
and the real-time WebSocket protocol (``/graphql/realtime``). Every request
is verified with botocore, independently of this library's own signer, and
rejected the way AppSync rejects it (status, ``errorType``, message). Faults
(throttling, 5xx, connection resets, latency, WebSocket drops) can be
injected at runtime through :attr:`AppSyncEmulator.faults`.

Example::

    from appsync_iam.emulator import AppSyncEmulator

    async with AppSyncEmulator("schema.graphql") as emulator:  # or "chat"
        # emulator.url, emulator.realtime_url, emulator.region,
        # emulator.credentials (AKIDEXAMPLE / wJalrXUtnFEMI/...EXAMPLEKEY)
        temporary = emulator.add_principal("AKIDTEMP", "secret", token="token")
        emulator.faults.throttle_rate = 0.1
        ...
        assert len(emulator.executed) == 3

From sync code: ``with AppSyncEmulator(schema).run_in_thread() as emulator:``.
In pytest: ``pytest_plugins = ["appsync_iam.emulator.pytest_plugin"]`` gives
the ``appsync_emulator`` fixture. From a shell:
``appsync-iam emulator --schema chat``.
"""

from __future__ import annotations

from ._engine import AppSyncResolverError, ExecutedOperation
from ._faults import Faults
from ._principal import Principal
from ._samples import available_samples, sample_schema_path
from ._server import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, AppSyncEmulator
from ._verifier import SignatureRejected, SigV4Verifier

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_SECRET_KEY",
    "AppSyncEmulator",
    "AppSyncResolverError",
    "ExecutedOperation",
    "Faults",
    "Principal",
    "SigV4Verifier",
    "SignatureRejected",
    "available_samples",
    "sample_schema_path",
]

# Reprs and tracebacks say appsync_iam.emulator.X, not ..._server.X.
for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("appsync_iam.emulator._"):
        _obj.__module__ = "appsync_iam.emulator"
del _name, _obj
