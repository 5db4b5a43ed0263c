"""A batch job: thousands of signed mutations, with progress and a failure file.

``execute_many`` reads its input lazily (a generator of a million rows runs in
flat memory), keeps at most ``concurrency`` requests in flight, retries
throttling on its own, and never lets one failure stop the rest. Failed rows
are written, unchanged, to a JSON-lines file you can feed back in::

    APPSYNC_URL=... python examples/batch_job.py               # generated rows
    APPSYNC_URL=... python examples/batch_job.py failed.jsonl  # retry those
                                           # (new failures: failed.failed.jsonl)

The same from the shell: ``appsync-iam batch -f post.graphql -i rows.jsonl``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm  # type: ignore[import-untyped]

from appsync_iam import AppSyncClient

POST = """
mutation Post($roomId: ID!, $content: String!) {
  postMessage(roomId: $roomId, content: $content) { id }
}
"""
ROWS = int(os.environ.get("BATCH_ROWS", "500"))


def generated_rows(count: int) -> Iterator[dict[str, Any]]:
    """Rows made on the fly; every 100th lacks its content (a GraphQL error)."""
    for n in range(count):
        content = None if n % 100 == 99 else f"message {n}"
        yield {"roomId": f"room-{n % 10}", "content": content}


def rows_from(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSON-lines file, read one at a time."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


async def main(
    rows: Iterator[dict[str, Any]], total: int | None, failures_path: Path
) -> int:
    client = AppSyncClient(
        os.environ["APPSYNC_URL"], region=os.environ.get("APPSYNC_REGION")
    )
    ok = failed = 0
    async with client, client.execute_many(POST, rows, concurrency=32) as results:
        with (
            failures_path.open("w", encoding="utf-8") as failures,
            tqdm(total=total, unit="req", disable=not sys.stderr.isatty()) as bar,
        ):
            async for result in results:  # in input order
                bar.update()
                if result.ok:
                    ok += 1
                    continue
                failed += 1
                failures.write(json.dumps(result.variables) + "\n")
                print(f"row {result.index}: {result.error}", file=sys.stderr)
    print(
        f"{ok} ok, {failed} failed" + (f" (rows in {failures_path})" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1:  # never write into the file being read
        source = Path(sys.argv[1])
        failures_path = source.with_name(f"{source.stem}.failed.jsonl")
        sys.exit(asyncio.run(main(rows_from(source), None, failures_path)))
    failures_path = Path(os.environ.get("BATCH_FAILURES", "failed.jsonl"))
    sys.exit(asyncio.run(main(generated_rows(ROWS), ROWS, failures_path)))
