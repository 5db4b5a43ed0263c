"""examples/sigv4a.py runs: signed and presigned requests accepted, tampering not."""

from __future__ import annotations

from pathlib import Path

from tests.cli.cli_helpers import EXAMPLES, clean_env, run_python


async def test_sigv4a_example(tmp_path: Path) -> None:
    """The verifying server accepts both forms and the middleware, not tampering."""
    done = await run_python(str(EXAMPLES / "sigv4a.py"), env=clean_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "signed POST: 200 {'ok': True}" in done.stdout
    assert "presigned GET: 200 {'ok': True}" in done.stdout
    assert "tampered body: 400 {'error': 'XAmzContentSHA256Mismatch'}" in done.stdout
    assert "middleware POST: 200 {'ok': True}" in done.stdout
