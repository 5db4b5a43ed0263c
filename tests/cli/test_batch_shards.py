"""`appsync-iam batch --shard I/N` (or AWS Batch's array variables) and --rate."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from appsync_iam.emulator import AppSyncEmulator

from .test_cli import POST, aws_env, cli, emulator_env, one_error_line

__all__ = ["aws_env", "emulator_env"]  # fixtures used by name


def write_rows(path: Path, n: int) -> list[str]:
    lines = [json.dumps({"roomId": "s", "content": f"m{i}"}) for i in range(n)]
    # A blank line does not count as a position (shards stay balanced).
    path.write_text("\n".join(lines[:5]) + "\n\n" + "\n".join(lines[5:]) + "\n")
    return lines


def contents(emulator: AppSyncEmulator) -> Counter[str]:
    return Counter(op.arguments["content"] for op in emulator.executed)


class TestShards:
    async def test_shards_partition_and_failures_merge_into_one_retry(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """Three shards process every line once between them; their failure
        files (one per shard) concatenated are the input of one retry run."""
        rows = tmp_path / "rows.jsonl"
        lines = write_rows(rows, 60)
        emulator_env.faults.seed(5)
        emulator_env.faults.error_5xx_rate = 0.3  # a mutation is not retried
        seen: list[int] = []
        for shard in range(3):
            out = tmp_path / f"out{shard}.jsonl"
            await cli("batch", POST, "-i", str(rows), "--shard", f"{shard}/3",
                      "-o", str(out))  # fmt: skip
            numbers = [json.loads(x)["line"] for x in out.read_text().splitlines()]
            assert len(numbers) == 20
            seen += numbers
        # every input line in exactly one shard (line 6 is the blank one)
        assert sorted(seen) == [n for n in range(1, 62) if n != 6]
        failure_files = sorted(tmp_path.glob("rows.shard-*-of-3.failed.jsonl"))
        assert 1 <= len(failure_files) <= 3
        merged = tmp_path / "retry.jsonl"
        merged.write_text("".join(f.read_text() for f in failure_files))
        failed = merged.read_text().splitlines()
        ran = contents(emulator_env)
        assert len(failed) + sum(ran.values()) == 60
        assert sorted(failed + [lines[int(c[1:])] for c in ran]) == sorted(lines)

        emulator_env.faults.error_5xx_rate = 0.0
        assert await cli("batch", POST, "-i", str(merged)) == 0
        ran = contents(emulator_env)
        assert sorted(ran) == sorted(f"m{i}" for i in range(60))
        assert set(ran.values()) == {1}  # each input ran exactly once overall
        capsys.readouterr()

    async def test_aws_batch_array_variables(
        self,
        emulator_env: AppSyncEmulator,
        aws_env: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """AWS_BATCH_JOB_ARRAY_INDEX/SIZE pick the shard; --shard wins over them."""
        rows = tmp_path / "rows.jsonl"
        write_rows(rows, 10)
        aws_env.setenv("AWS_BATCH_JOB_ARRAY_INDEX", "1")
        aws_env.setenv("AWS_BATCH_JOB_ARRAY_SIZE", "4")
        assert await cli("batch", POST, "-i", str(rows)) == 0
        assert sorted(contents(emulator_env)) == ["m1", "m5", "m9"]
        assert await cli("batch", POST, "-i", str(rows), "--shard", "0/4") == 0
        assert sorted(contents(emulator_env)) == ["m0", "m1", "m4", "m5", "m8", "m9"]
        capsys.readouterr()

    async def test_index_without_size_processes_everything(
        self,
        emulator_env: AppSyncEmulator,
        aws_env: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        rows = tmp_path / "rows.jsonl"
        write_rows(rows, 4)
        aws_env.setenv("AWS_BATCH_JOB_ARRAY_INDEX", "1")
        assert await cli("batch", POST, "-i", str(rows)) == 0
        assert len(contents(emulator_env)) == 4
        capsys.readouterr()

    @pytest.mark.parametrize("bad", ["3/3", "-1/2", "1", "a/b", "0/0"])
    async def test_bad_shard_exits_2(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
        bad: str,
    ) -> None:
        rows = tmp_path / "rows.jsonl"
        write_rows(rows, 2)
        with pytest.raises(SystemExit) as exited:
            await cli("batch", POST, "-i", str(rows), "--shard", bad)
        assert exited.value.code == 2
        assert "I/N" in capsys.readouterr().err
        assert emulator_env.executed == []

    async def test_bad_array_variables_exit_2(
        self,
        emulator_env: AppSyncEmulator,
        aws_env: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        rows = tmp_path / "rows.jsonl"
        write_rows(rows, 2)
        aws_env.setenv("AWS_BATCH_JOB_ARRAY_INDEX", "4")
        aws_env.setenv("AWS_BATCH_JOB_ARRAY_SIZE", "4")
        assert await cli("batch", POST, "-i", str(rows)) == 2
        assert "AWS_BATCH_JOB_ARRAY" in one_error_line(capsys.readouterr().err)
        assert emulator_env.executed == []


class TestRate:
    async def test_fixed_rate(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """--rate 50 (burst 2): 22 lines take at least 0.4 s."""
        rows = tmp_path / "rows.jsonl"
        write_rows(rows, 22)
        started = time.monotonic()
        assert await cli("batch", POST, "-i", str(rows), "--rate", "50") == 0
        assert time.monotonic() - started >= (22 - 2) / 50 * 0.95
        capsys.readouterr()

    async def test_adaptive_under_the_quota_fault(
        self,
        emulator_env: AppSyncEmulator,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path,
    ) -> None:
        """--rate adaptive at a 200/s quota: every line ran once, none failed."""
        rows = tmp_path / "rows.jsonl"
        write_rows(rows, 300)
        emulator_env.faults.quota_per_s = 200
        assert await cli("batch", POST, "-i", str(rows), "--rate", "adaptive") == 0
        ran = contents(emulator_env)
        assert len(ran) == 300 and set(ran.values()) == {1}
        assert "300 ok, 0 failed" in capsys.readouterr().err

    @pytest.mark.parametrize("bad", ["0", "fast", "-3"])
    async def test_bad_rate_exits_2(
        self, capsys: pytest.CaptureFixture[str], bad: str
    ) -> None:
        with pytest.raises(SystemExit) as exited:
            await cli("batch", POST, "-i", "x.jsonl", "--rate", bad)
        assert exited.value.code == 2
        assert "adaptive" in capsys.readouterr().err
