"""Import hygiene: no botocore at import time, every module imports on its own."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "appsync_iam"

# Globbed, so the list grows with the package (aiohttp's test_circular_imports).
MODULES = sorted(
    "appsync_iam" if path.stem == "__init__" else f"appsync_iam.{path.stem}"
    for path in PACKAGE.glob("*.py")
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=PACKAGE.parent,
    )


@pytest.fixture(scope="module")
def import_results() -> dict[str, tuple[int, str]]:
    """Import every module in its own fresh interpreter, all in parallel."""
    procs = {
        module: subprocess.Popen(
            [sys.executable, "-I", "-c", f"import {module}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PACKAGE.parent,
        )
        for module in MODULES
    }
    results = {}
    for module, proc in procs.items():
        _, stderr = proc.communicate(timeout=30)
        results[module] = (proc.returncode, stderr)
    return results


class TestNoBotocoreAtImport:
    def test_package_import_does_not_import_botocore(self) -> None:
        """Importing appsync_iam leaves botocore unimported (Lambda cold start)."""
        result = _run(
            "import sys, appsync_iam; "
            "assert 'botocore' not in sys.modules, 'botocore imported'"
        )
        assert result.returncode == 0, result.stderr

    def test_public_names_do_not_import_botocore(self) -> None:
        """Touching every public name still leaves botocore unimported."""
        result = _run(
            "import sys, appsync_iam\n"
            "from appsync_iam import *\n"
            "for name in appsync_iam.__all__: getattr(appsync_iam, name)\n"
            "assert 'botocore' not in sys.modules, 'botocore imported'\n"
        )
        assert result.returncode == 0, result.stderr


class TestEachModuleImportsAlone:
    def test_module_list_is_not_empty(self) -> None:
        """The glob finds the package and its private modules."""
        assert "appsync_iam" in MODULES
        assert "appsync_iam._credentials" in MODULES

    @pytest.mark.parametrize("module", MODULES)
    def test_module_imports_in_a_fresh_interpreter(
        self, module: str, import_results: dict[str, tuple[int, str]]
    ) -> None:
        """Each module imports first in a fresh interpreter (no import cycles)."""
        returncode, stderr = import_results[module]
        assert returncode == 0, stderr


HEAVY = ("botocore", "gql", "graphql")

# A Lambda-style first request: import, client from the environment, one
# signed mutation and one query against the emulator (another process).
FIRST_REQUEST = """
import asyncio, json, sys
import appsync_iam
from appsync_iam import AppSyncClient, GraphQLResponseError

async def main(url):
    async with AppSyncClient(url, region="us-east-1") as client:
        posted = await client.execute_async(
            "mutation P($r: ID!, $c: String!) "
            "{ postMessage(roomId: $r, content: $c) { id } }",
            {"r": "cold", "c": "start"},
        )
        rooms = await client.execute_async("query { listRooms { items { id } } }")
        try:
            await client.execute_async("query { noSuchField }")
        except GraphQLResponseError as exc:
            rejected = type(exc).__name__
    return posted["postMessage"]["id"], rooms, rejected

result = asyncio.run(main(sys.argv[1]))
loaded = [m for m in HEAVY if m in sys.modules]
print(json.dumps({"loaded": loaded, "result": result}))
""".replace("HEAVY", repr(HEAVY))


class TestColdPath:
    """The facade's whole path never loads gql, graphql-core or botocore."""

    def test_public_names_but_the_gql_transport(self) -> None:
        """Every public name except AppSyncIAMTransport: none of the three."""
        result = _run(
            "import sys, appsync_iam\n"
            "for name in appsync_iam.__all__:\n"
            "    if name != 'AppSyncIAMTransport': getattr(appsync_iam, name)\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "[]"

    def test_gql_transport_loads_on_first_access(self) -> None:
        """AppSyncIAMTransport is there when asked for, and only then loads gql."""
        result = _run(
            "import sys, appsync_iam\n"
            "assert 'gql' not in sys.modules\n"
            "from appsync_iam import AppSyncIAMTransport\n"
            "assert 'gql' in sys.modules and 'botocore' not in sys.modules\n"
            "assert appsync_iam.AppSyncIAMTransport is AppSyncIAMTransport\n"
            "assert 'AppSyncIAMTransport' in dir(appsync_iam)\n"
            "print(AppSyncIAMTransport.__module__)\n"
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "appsync_iam"

    async def test_first_requests_load_none_of_them(
        self, appsync_emulator: Any, tmp_path: Path
    ) -> None:
        """Env credentials, a mutation, a query and a GraphQL error, signed and
        verified by the emulator: gql, graphql-core and botocore stay unloaded."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "AWS_ACCESS_KEY_ID": appsync_emulator.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": appsync_emulator.credentials.secret_key,
            "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-c",
            FIRST_REQUEST,
            appsync_emulator.url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=PACKAGE.parent,
            env=env,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        report = json.loads(out)
        assert report["loaded"] == []
        message_id, rooms, rejected = report["result"]
        assert message_id and rooms == {"listRooms": {"items": []}}
        assert rejected == "GraphQLResponseError"
        assert len(appsync_emulator.requests) == 3
