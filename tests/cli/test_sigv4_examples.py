"""The SigV4 examples (API Gateway, OpenSearch, S3, presigned URL, Lambda role,
MCP on a Lambda URL) run against SigV4Server, configured by env only."""

from __future__ import annotations

from pathlib import Path

import pytest

from appsync_iam.emulator import SigV4Server

from .cli_helpers import EXAMPLES, clean_env, run_python

pytest.importorskip("httpx")
pytest.importorskip("requests")


def sigv4_env(server: SigV4Server, tmp_path: Path) -> dict[str, str]:
    """What a user exports to point an example at a verifying server."""
    env = clean_env(tmp_path)
    env.update(
        SIGV4_URL=server.url, AWS_REGION=server.region,
        AWS_ACCESS_KEY_ID=server.credentials.access_key,
        AWS_SECRET_ACCESS_KEY=server.credentials.secret_key,
    )  # fmt: skip
    return env


async def run_example(name: str, server: SigV4Server | None, tmp_path: Path) -> str:
    env = sigv4_env(server, tmp_path) if server else clean_env(tmp_path)
    done = await run_python(str(EXAMPLES / name), env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


async def test_api_gateway(tmp_path: Path) -> None:
    async with SigV4Server(service="execute-api") as server:
        out = await run_example("api_gateway.py", server, tmp_path)
    assert "httpx GET: 200" in out and "requests GET: 200" in out
    assert "東京タワー" in out and "!*'();:@$,/?#[]" in out
    assert [r.status for r in server.requests] == [200, 200, 200]


async def test_opensearch(tmp_path: Path) -> None:
    async with SigV4Server() as server:
        out = await run_example("opensearch.py", server, tmp_path)
    assert "es aiohttp PUT doc: 200" in out and "aoss httpx search: 200" in out
    services = [r.verified.service for r in server.requests if r.verified]
    assert services == ["es", "es", "aoss", "aoss"]
    aoss = [r for r in server.requests if r.verified and r.verified.service == "aoss"]
    assert all("x-amz-content-sha256" in r.verified.signed_headers for r in aoss)  # type: ignore[union-attr]


async def test_s3_get_put_and_presigned(tmp_path: Path) -> None:
    async with SigV4Server(service="s3") as server:
        out = await run_example("s3_get_put.py", server, tmp_path)
        assert "PUT: 200" in out and "GET: 200" in out
        put = server.requests[0]
        assert put.method == "PUT" and put.body_length == 12 + 12 * 50_000
        out = await run_example("presigned_url.py", server, tmp_path)
        assert "GET presigned: 200" in out
        assert server.requests[-1].verified.auth == "query"  # type: ignore[union-attr]


async def test_offline_without_env(tmp_path: Path) -> None:
    """With nothing exported, an example starts its own verifying server."""
    out = await run_example("api_gateway.py", None, tmp_path)
    assert "requests GET: 200" in out


async def test_lambda_role_handler(tmp_path: Path) -> None:
    out = await run_example("lambda_role_handler.py", None, tmp_path)
    assert "invocation 0: 200" in out and "invocation 1: 200" in out
    assert "signed by: {'ASIAEXAMPLEROLE'}" in out


async def test_mcp_lambda_url(tmp_path: Path) -> None:
    pytest.importorskip("mcp")
    out = await run_example("mcp_lambda_url.py", None, tmp_path)
    assert "tools: add, shout" in out
    assert "add(2, 40) = 42" in out
