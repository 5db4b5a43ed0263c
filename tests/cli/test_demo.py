"""``appsync-iam demo`` in a subprocess: four numbered steps, exit 0, no AWS needed."""

from __future__ import annotations

import re
from pathlib import Path

from .cli_helpers import clean_env, run_python

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def sections(out: str) -> dict[int, str]:
    """The text of each ``[n/4]`` step."""
    parts = re.split(r"^\[(\d)/4\] ", out, flags=re.MULTILINE)
    return {
        int(number): text for number, text in zip(parts[1::2], parts[2::2], strict=True)
    }


class TestDemo:
    async def test_four_steps_and_exit_0(self, tmp_path: Path) -> None:
        """The demo shows each step's evidence and exits 0, ignoring AWS settings."""
        env = clean_env(tmp_path)
        # Credentials and a profile that would break anything that used them.
        env["AWS_ACCESS_KEY_ID"] = "AKIDNOTUSED"
        env["AWS_SECRET_ACCESS_KEY"] = "not-used-secret"
        env["AWS_PROFILE"] = "no-such-profile"
        env["AWS_REGION"] = "eu-west-3"
        done = await run_python("-m", "appsync_iam", "demo", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stderr == ""
        out = done.stdout
        assert re.search(r"GraphQL +http://127\.0\.0\.1:\d+/graphql", out)
        assert "Signing as AKIDEXAMPLE" in out

        steps = sections(out)
        assert sorted(steps) == [1, 2, 3, 4]
        assert steps[1].startswith("A signed query")
        assert "verified the signature of AKIDEXAMPLE" in steps[1]
        assert 'data: {"listRooms": {"items": []}}' in steps[1]

        assert steps[2].startswith("A mutation")
        posted = re.search(rf'"postMessage": {{"id": "({UUID})"', steps[2])
        assert posted, steps[2]

        assert steps[3].startswith("A subscription receiving that mutation's event")
        assert f'event: {{"onMessagePosted": {{"id": "{posted[1]}"' in steps[3]
        assert f"the same message id as step 2 ({posted[1]})" in steps[3]

        assert steps[4].startswith("Tampered requests are rejected")
        assert "-> HTTP 403 InvalidSignatureException" in steps[4]
        assert '"The request signature we calculated does not match' in steps[4]
        assert "Signature=<redacted>" in steps[4]
        assert "the mutation did not run" in steps[4]
        assert "AuthorizationError: status=403" in steps[4]
        assert "All 4 steps done." in out

    async def test_nothing_secret_is_printed(self, tmp_path: Path) -> None:
        """No signature or secret key appears in the demo's output."""
        done = await run_python(
            "-m", "appsync_iam", "demo", env=clean_env(tmp_path), cwd=tmp_path
        )
        assert done.returncode == 0
        assert "wJalrXUtnFEMI" not in done.stdout
        assert not re.search(r"Signature=[0-9a-f]{64}", done.stdout)
        assert "Canonical String" not in done.stdout
