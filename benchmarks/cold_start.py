"""Cold start: a fresh process importing, then its first signed request answered.

Run: ``.venv/bin/python benchmarks/cold_start.py`` (about a minute;
``COLD_RUNS=3`` for a quick look). Prints a markdown table.

Why: a Lambda cold start pays for the imports *and* the first signed request
(credentials read, signing, a real connection, the answer parsed) before the
handler can return. The budget of ``docs/architecture.md`` is "cold start:
import + first signed request, env credentials: ≤ 0.7× of the gql + aiohttp +
botocore stack"; this script measures exactly that, side by side, in one run.

The server: the loopback server of ``e2e.py`` (``benchmarks/_server.py``,
raw asyncio, a child process of its own, 127.0.0.1, an ephemeral port). It
answers ``POST /graphql`` with HTTP 200 and a fixed ``getRoom`` result, and
anything else with 404. It verifies no signature (correctness is proven
elsewhere, against the emulator): it is here so that both stacks pay for a
real connection and a real answer.

Each candidate runs in a fresh interpreter (``python -c``) with Lambda-style
environment credentials (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``, ``AWS_REGION``), no AWS config files and IMDS
disabled:

- **appsync_iam, first answer**: ``import asyncio, appsync_iam``;
  ``AppSyncClient(url, region=...)`` (credentials from the default chain,
  i.e. the environment); in one ``asyncio.run``: ``async with client:`` and
  ``await client.execute_async(QUERY, {"id": "1"})``; the data is checked.
- **gql + aiohttp + botocore, first answer**: what a gql user writes:
  ``AppSyncIAMAuthentication(host, region_name=...)`` (its botocore session
  reads the environment), ``AIOHTTPTransport(url, auth=...)``, a gql
  ``Client``, ``async with client as session: await
  session.execute(gql(QUERY), variable_values=...)``; the data is checked.
- **appsync_iam, import only** and **gql stack, import only**: the imports
  alone, to show how much of each first answer is import time.
- **floor: import aiohttp**: what any aiohttp-based client pays;
- **python -c pass**: the interpreter alone, for reference.

"process ms" is the wall time of the whole child (what a cold start pays),
"in-process ms" from the child's first line until the answer is checked (or
the imports are done). Ratios compare like with like: first-answer rows and
the floors against the gql first answer, import rows against the gql
imports. "modules loaded" lists which of botocore, gql and graphql(-core) the
child had imported by then. Candidates are interleaved (order reversed every
other round), one warm-up run each (bytecode caches), then the median of
RUNS; everything comes from this one process run.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from importlib.metadata import version

from _server import BODY, running_server

RUNS = int(os.environ.get("COLD_RUNS", "21"))
REGION = "us-east-1"
QUERY = "query GetRoom($id: ID!) { getRoom(id: $id) { id name topic } }"
VARIABLES = {"id": "room-1"}
EXPECTED = json.loads(BODY)["data"]
HEAVY = ["botocore", "gql", "graphql"]

# --- the candidates ---------------------------------------------------------------

# Every child prints the seconds from its first line to the end of the measured
# work, then a JSON list of the HEAVY modules it had loaded by then.
REPORT = f"""
elapsed = time.perf_counter() - t0
import json, sys
print(elapsed)
print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""


def child(work: str) -> str:
    """A child's code: start the clock, do ``work``, then REPORT."""
    prelude = "import time\nt0 = time.perf_counter()\n"
    return prelude + textwrap.dedent(work).strip() + "\n" + REPORT


def ours_first_answer(url: str) -> str:
    return child(
        f"""
        import asyncio
        import appsync_iam

        client = appsync_iam.AppSyncClient({url!r}, region={REGION!r})

        async def main():
            async with client:
                return await client.execute_async({QUERY!r}, {VARIABLES!r})

        data = asyncio.run(main())
        assert data == {EXPECTED!r}, data
        """
    )


def gql_first_answer(url: str) -> str:
    host = url.split("/")[2]
    return child(
        f"""
        import asyncio
        import aiohttp, botocore, gql
        from gql.transport.aiohttp import AIOHTTPTransport
        from gql.transport.appsync_auth import AppSyncIAMAuthentication

        auth = AppSyncIAMAuthentication(host={host!r}, region_name={REGION!r})
        transport = AIOHTTPTransport(url={url!r}, auth=auth)
        client = gql.Client(transport=transport)

        async def main():
            async with client as session:
                return await session.execute(
                    gql.gql({QUERY!r}), variable_values={VARIABLES!r}
                )

        data = asyncio.run(main())
        assert data == {EXPECTED!r}, data
        """
    )


OURS = "appsync_iam, first answer"
GQL = "gql + aiohttp + botocore, first answer"
OURS_IMPORT = "appsync_iam, import only"
GQL_IMPORT = "gql stack, import only"
FLOOR = "floor: import aiohttp"
BARE = "python -c pass"


@dataclass(frozen=True)
class Candidate:
    label: str
    code: str
    reference: str  # the row its ratios are taken against


def candidates(url: str) -> list[Candidate]:
    gql_imports = (
        "import aiohttp, botocore, gql, gql.transport.aiohttp, "
        "gql.transport.appsync_auth"
    )
    return [
        Candidate(OURS, ours_first_answer(url), GQL),
        Candidate(GQL, gql_first_answer(url), GQL),
        Candidate(OURS_IMPORT, child("import appsync_iam"), GQL_IMPORT),
        Candidate(GQL_IMPORT, child(gql_imports), GQL_IMPORT),
        Candidate(FLOOR, child("import aiohttp"), GQL),
        Candidate(BARE, "pass", GQL),
    ]


# --- measuring -------------------------------------------------------------------


def environment(home: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": home,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjEXAMPLE" + "Ab3/+" * 215 + "==",
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.path.join(home, "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@dataclass(frozen=True)
class Sample:
    process: float  # seconds, the whole child
    inner: float | None  # seconds, reported by the child (None for ``pass``)
    modules: tuple[str, ...] | None


def run(row: Candidate, env: dict[str, str]) -> Sample:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", row.code],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    total = time.perf_counter() - started
    if out.returncode:
        raise RuntimeError(f"{row.label!r} exited {out.returncode}:\n{out.stderr}")
    lines = out.stdout.splitlines()
    if not lines:
        return Sample(total, None, None)
    return Sample(total, float(lines[0]), tuple(json.loads(lines[1])))


def measure(rows: list[Candidate], env: dict[str, str]) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {row.label: [] for row in rows}
    for row in rows:
        run(row, env)  # warm-up: bytecode caches
    for round_ in range(RUNS):
        for row in reversed(rows) if round_ % 2 else rows:
            samples[row.label].append(run(row, env))
    return samples


def table(rows: list[Candidate], samples: dict[str, list[Sample]]) -> str:
    process = {k: statistics.median(s.process for s in v) for k, v in samples.items()}
    inner: dict[str, float | None] = {}
    for label, runs in samples.items():
        values = [s.inner for s in runs if s.inner is not None]
        inner[label] = statistics.median(values) if values else None
    lines = [
        "| candidate | process ms | × gql stack | in-process ms | × | modules loaded |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ref = row.reference
        own, ref_inner = inner[row.label], inner[ref]
        inner_ms = "—" if own is None else f"{own * 1000:.0f}"
        inner_x = "—" if own is None or not ref_inner else f"{own / ref_inner:.2f}×"
        modules = samples[row.label][-1].modules
        loaded = "—" if modules is None else (", ".join(modules) or "none")
        lines.append(
            f"| {row.label} | {process[row.label] * 1000:.0f} | "
            f"{process[row.label] / process[ref]:.2f}× | {inner_ms} | {inner_x} | "
            f"{loaded} |"
        )
    lines.append("")
    lines.append(
        f"appsync_iam first answer = {process[OURS] / process[GQL]:.2f}× "
        "the gql stack (target ≤ 0.70×)"
    )
    return "\n".join(lines)


def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as home, running_server() as url:
        rows = candidates(url)
        samples = measure(rows, environment(home))
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("aiohttp", "gql", "botocore")
    )
    print(
        f"Python {platform.python_version()}, {versions}, {platform.machine()}, "
        f"median of {RUNS} fresh processes each "
        f"({time.perf_counter() - started:.0f} s)\n"
    )
    print(table(rows, samples))


if __name__ == "__main__":
    main()
