"""Cold start: a fresh process importing, building a client, signing one request.

Run: ``.venv/bin/python benchmarks/cold_start.py`` (about half a minute).
Prints a markdown table.

Each candidate runs in a fresh interpreter with Lambda-style environment
credentials (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``, ``AWS_REGION``), no AWS config files and IMDS disabled;
no network is used:

- **appsync_iam**: ``import appsync_iam``; ``AppSyncClient(url)`` and an
  ``AppSyncIAMTransport(url)`` (default chain → environment, no botocore);
  get the credentials snapshot and sign one POST with the transport's
  signing step (inside ``asyncio.run``, as a handler would).
- **gql + aiohttp + botocore**: import them; build
  ``AppSyncIAMAuthentication(host, region_name)`` (botocore session reads
  the environment), an ``AIOHTTPTransport(url, auth=...)`` and a gql
  ``Client``; one ``get_headers(body)``.
- **shared floor**: just ``import gql.transport.aiohttp`` (aiohttp, gql,
  graphql-core), which both stacks need: appsync_iam's errors subclass gql's
  and its transport subclasses gql's ``AIOHTTPTransport``;
- **python -c pass**: the interpreter alone, for reference.

"process" is the wall time of the whole child process (what a Lambda cold
start pays), "in-process" the time from the child's first line to the signed
headers. Candidates are interleaved, one warm-up run each (bytecode caches),
then the median of RUNS.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

RUNS = 21
URL = "https://abcdefghijklmnopqrstuvwxyz.appsync-api.us-east-1.amazonaws.com/graphql"
BODY = (
    '{"query":"query GetRoom($id: ID!) { getRoom(id: $id) { id } }",'
    '"variables":{"id":"1"}}'
)

OURS = textwrap.dedent(
    f"""
    import time
    t0 = time.perf_counter()
    import asyncio
    import appsync_iam

    URL = {URL!r}
    BODY = {BODY!r}.encode()
    client = appsync_iam.AppSyncClient(URL)
    transport = appsync_iam.AppSyncIAMTransport(URL)

    async def first_signature():
        credentials = await transport.credentials.get_frozen()
        return transport.sign_request(BODY, credentials)

    headers = asyncio.run(first_signature())
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256")
    print(time.perf_counter() - t0)
    """
)

GQL = textwrap.dedent(
    f"""
    import time
    t0 = time.perf_counter()
    import aiohttp, botocore, gql
    from gql.transport.aiohttp import AIOHTTPTransport
    from gql.transport.appsync_auth import AppSyncIAMAuthentication

    URL = {URL!r}
    auth = AppSyncIAMAuthentication(host=URL.split("/")[2], region_name="us-east-1")
    client = gql.Client(transport=AIOHTTPTransport(url=URL, auth=auth))
    headers = auth.get_headers({BODY!r}, {{"content-type": "application/json"}})
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256")
    print(time.perf_counter() - t0)
    """
)

FLOOR = textwrap.dedent(
    """
    import time
    t0 = time.perf_counter()
    import asyncio
    import gql.transport.aiohttp
    print(time.perf_counter() - t0)
    """
)

BARE = "import time; print(0.0)"

CANDIDATES = {
    "appsync_iam": OURS,
    "gql + aiohttp + botocore": GQL,
    "shared floor: import gql.transport.aiohttp": FLOOR,
    "python -c pass": BARE,
}


def environment(home: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": home,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLE" + "Ab3/+" * 215 + "==",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.path.join(home, "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def run(code: str, env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    total = time.perf_counter() - started
    return total, float(out.stdout.strip())


def main() -> None:
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in CANDIDATES}
    with tempfile.TemporaryDirectory() as home:
        env = environment(home)
        for code in CANDIDATES.values():
            run(code, env)  # warm-up: bytecode caches
        for _ in range(RUNS):
            for label, code in CANDIDATES.items():
                samples[label].append(run(code, env))
    total = {k: statistics.median(t for t, _ in v) * 1000 for k, v in samples.items()}
    inner = {k: statistics.median(i for _, i in v) * 1000 for k, v in samples.items()}
    ref = "gql + aiohttp + botocore"
    print(
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"median of {RUNS} fresh processes each\n"
    )
    print("| candidate | process ms | × gql stack | in-process ms | × gql stack |")
    print("|---|---:|---:|---:|---:|")
    for label in CANDIDATES:
        ratio = f"{total[label] / total[ref]:.2f}×"
        inner_ratio = f"{inner[label] / inner[ref]:.2f}×" if inner[label] else "—"
        print(
            f"| {label} | {total[label]:.0f} | {ratio} | "
            f"{inner[label]:.0f} | {inner_ratio} |"
        )


if __name__ == "__main__":
    main()
