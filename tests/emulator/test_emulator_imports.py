"""The emulator never uses the client's signer (issue 3, point 8).

A signer bug must not hide behind a verifier that shares its code, so no
emulator module imports ``appsync_iam._signer``, and the emulator verifies
real requests with the signer module made unusable. Importing the emulator (or
serving a request with it) loads no client module but the shared value types,
errors and schema prelude: the package `__init__` loads the rest lazily.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

EMULATOR = Path(__file__).resolve().parents[2] / "appsync_iam" / "emulator"
# What emulator modules may import from the client package: value types,
# errors and the AppSync schema prelude; never _signer or modules that sign.
ALLOWED_CLIENT_MODULES = {"_credentials", "_errors", "_schema"}


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=EMULATOR.parents[1],
    )


def _client_imports(path: Path) -> set[str]:
    """The client-package modules (and top-level names) a module imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 2 or (
                node.level == 0 and module.startswith("appsync_iam")
            ):
                name = module.removeprefix("appsync_iam").lstrip(".")
                if not name.startswith("emulator"):
                    found.add(name or "<package>")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("appsync_iam") and not alias.name.startswith(
                    "appsync_iam.emulator"
                ):
                    found.add(
                        alias.name.removeprefix("appsync_iam").lstrip(".")
                        or "<package>"
                    )
    return found


class TestNoSigner:
    def test_emulator_modules_import_only_credentials_and_errors(self) -> None:
        """Emulator modules import only value types, errors and the schema prelude
        from the client package (statically: never _signer or the package)."""
        modules = sorted(EMULATOR.glob("*.py"))
        assert len(modules) >= 5
        for path in modules:
            assert _client_imports(path) <= ALLOWED_CLIENT_MODULES, path.name

    def test_importing_the_emulator_loads_nothing_of_the_client(self) -> None:
        """``import appsync_iam.emulator`` loads no client module (sys.modules
        in a fresh interpreter): neither _signer nor what signs or sends."""
        result = _run(
            """
            import json, sys
            import appsync_iam.emulator  # noqa: F401

            print(json.dumps(sorted(sys.modules)))
            """
        )
        assert result.returncode == 0, result.stderr
        loaded = set(json.loads(result.stdout))
        client = {
            m
            for m in loaded
            if m.startswith("appsync_iam.") and not m.startswith("appsync_iam.emulator")
        }
        shared = {f"appsync_iam.{name}" for name in ALLOWED_CLIENT_MODULES}
        assert client <= shared, sorted(client - shared)
        assert "appsync_iam._signer" not in loaded
        # The modules that sign or send exist: the check is not vacuous.
        for name in ("_signer", "_http", "_client", "_realtime", "_retry"):
            assert (EMULATOR.parent / f"{name}.py").exists(), name

    def test_serving_a_signed_request_loads_nothing_of_the_client(self) -> None:
        """An emulator started, a botocore-signed request verified and answered:
        still no client module but the shared ones in sys.modules."""
        result = _run(
            """
            import http.client, json, sys
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            from appsync_iam.emulator import AppSyncEmulator

            emulator = AppSyncEmulator("chat")
            with emulator.run_in_thread():
                body = json.dumps({"query": "{ listRooms { items { id } } }"})
                creds = emulator.credentials
                request = AWSRequest("POST", emulator.url, data=body.encode())
                SigV4Auth(
                    Credentials(creds.access_key, creds.secret_key),
                    "appsync",
                    emulator.region,
                ).add_auth(request)
                port = emulator.port
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", "/graphql", body, dict(request.headers))
                status = conn.getresponse().status
                conn.close()
            client = sorted(
                m for m in sys.modules
                if m.startswith("appsync_iam.") and ".emulator" not in m
            )
            print(json.dumps([status, client]))
            """
        )
        assert result.returncode == 0, result.stderr
        status, client = json.loads(result.stdout)
        assert status == 200
        assert set(client) <= {f"appsync_iam.{n}" for n in ALLOWED_CLIENT_MODULES}

    def test_emulator_verifies_with_the_signer_unusable(self) -> None:
        """With appsync_iam._signer replaced by a module that raises on any use,
        the emulator still accepts a botocore-signed request and rejects a bad one."""
        result = _run(
            """
            import http.client, json, sys, types
            import appsync_iam

            class Poisoned(types.ModuleType):
                def __getattr__(self, name):
                    raise AssertionError(f"the emulator used _signer.{name}")

            sys.modules["appsync_iam._signer"] = Poisoned("appsync_iam._signer")
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            from appsync_iam.emulator import AppSyncEmulator

            sdl = "type Query { ping: String }"
            resolvers = {"Query.ping": lambda parent, info: "pong"}
            emulator = AppSyncEmulator(sdl, resolvers=resolvers)
            with emulator.run_in_thread():
                body = json.dumps({"query": "{ ping }"}).encode()
                creds = emulator.credentials
                statuses = []
                for secret in (creds.secret_key, "wrong"):
                    request = AWSRequest("POST", emulator.url, data=body)
                    SigV4Auth(
                        Credentials(creds.access_key, secret), "appsync", "us-east-1"
                    ).add_auth(request)
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", emulator.port, timeout=10
                    )
                    headers = dict(request.headers.items())
                    conn.request("POST", "/graphql", body, headers)
                    statuses.append(conn.getresponse().status)
                    conn.close()
            assert statuses == [200, 403], statuses
            print("ok")
            """
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "ok"
