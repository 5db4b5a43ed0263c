"""Every ```python block of README.md runs against the emulator, as written.

A block is a standalone script run with ``APPSYNC_URL`` and the emulator's
test credentials in the environment (what a reader exports), unless the HTML
comment just above it says otherwise:

- ``<!-- readme-test: pytest -->``: the block is a test module, run by pytest;
- ``<!-- readme-test: subscriber -->``: the block subscribes forever; the test
  posts a message once it reports ``connected`` and waits for the event.

New blocks are tested by default; there is no way to skip one.
"""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from appsync_iam import AppSyncClient
from appsync_iam.emulator import AppSyncEmulator

from .cli_helpers import REPO, SUBPROCESS_TIMEOUT, emulator_env, run_python

README = REPO / "README.md"
_BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<mode>[a-z]+) -->\n)?```python\n(?P<code>.*?)```",
    re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    heading: str
    mode: str
    code: str


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in _BLOCK.finditer(text):
        headings = re.findall(r"^#+ (.+)$", text[: match.start()], re.MULTILINE)
        blocks.append(Block(headings[-1], match["mode"] or "script", match["code"]))
    return blocks


BLOCKS = readme_blocks()


def block_id(block: Block) -> str:
    same = [b for b in BLOCKS if b.heading == block.heading]
    slug = re.sub(r"[^a-z0-9]+", "-", block.heading.lower()).strip("-")
    return slug if len(same) == 1 else f"{slug}-{same.index(block) + 1}"


def test_readme_has_the_expected_blocks() -> None:
    """The README keeps its quickstart, Lambda, batch, subscription and test blocks."""
    ids = [block_id(b) for b in BLOCKS]
    for expected in ("quickstart-1", "aws-lambda", "batch-jobs", "subscriptions"):
        assert expected in ids
    assert {b.mode for b in BLOCKS} == {"script", "pytest", "subscriber"}


@pytest.mark.parametrize("block", BLOCKS, ids=[block_id(b) for b in BLOCKS])
async def test_block_runs(
    block: Block, appsync_emulator: AppSyncEmulator, tmp_path: Path
) -> None:
    """The block runs to completion (or, for a subscriber, receives an event)."""
    source = tmp_path / ("test_block.py" if block.mode == "pytest" else "block.py")
    source.write_text(block.code, encoding="utf-8")
    env = emulator_env(appsync_emulator, tmp_path)
    del env["APPSYNC_REGION"]  # the README never needs it for these URLs
    if block.mode == "subscriber":
        await _run_subscriber(source, env, appsync_emulator, tmp_path)
        return
    if block.mode == "pytest":
        args = ["-m", "pytest", str(source), "-q", "-p", "no:cacheprovider"]
        args += ["-o", "asyncio_mode=auto", "--rootdir", str(tmp_path)]
        args += ["-o", "asyncio_default_fixture_loop_scope=function"]
    else:
        args = ["-W", "always", str(source)]
    done = await run_python(*args, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


async def _run_subscriber(
    source: Path, env: dict[str, str], emulator: AppSyncEmulator, cwd: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-W", "always", str(source),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )  # fmt: skip
    assert process.stdout is not None
    seen: list[str] = []

    async def conversation() -> None:
        await _read_until(process, seen, "connection: connected")
        async with AppSyncClient(
            emulator.url, region=emulator.region, credentials=emulator.credentials
        ) as client:
            await client.execute_async(
                'mutation { postMessage(roomId: "r1", content: "from the test")'
                " { id roomId content } }"
            )
        await _read_until(process, seen, "event: from the test")

    try:
        await asyncio.wait_for(conversation(), SUBPROCESS_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
        await asyncio.wait_for(process.communicate(), 10)


async def _read_until(
    process: asyncio.subprocess.Process, seen: list[str], text: str
) -> None:
    assert process.stdout is not None
    while not any(text in line for line in seen):
        line = await process.stdout.readline()
        if not line:
            stderr = await process.stderr.read() if process.stderr else b""
            raise AssertionError(
                f"the block ended before {text!r}: {seen} {stderr.decode()}"
            )
        seen.append(line.decode())
