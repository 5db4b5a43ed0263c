"""``pip install`` of the built wheel, outside the clone: demo and emulator work.

The wheel is built once (``pip wheel --no-deps --no-build-isolation``, with
the test extra's hatchling: no network) and installed with ``--no-deps
--no-index`` into a fresh venv in a temp directory. That venv gets its
dependencies (aiohttp, gql, botocore...) from this environment's
site-packages through a ``.pth`` line, which adds the directory only: the
editable install's own ``.pth`` there is not processed, so ``appsync_iam``
can only come from the wheel (checked). Everything runs with the temp
directory as working directory, so nothing is read from the source tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from .cli_helpers import REPO, clean_env

pytestmark = pytest.mark.slow

TIMEOUT = 120


def _run(
    args: list[str], cwd: Path, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(venv directory, wheel path), built and installed once for the module."""
    root = tmp_path_factory.mktemp("wheel")
    built = _run(
        [
            sys.executable, "-m", "pip", "wheel", "--no-deps",
            "--no-build-isolation", "-q", "-w", str(root / "dist"), str(REPO),
        ],
        cwd=root,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = (root / "dist").glob("appsync_iam-*.whl")
    target = root / "venv"
    venv.EnvBuilder(with_pip=True).create(target)
    python = target / "bin" / "python"
    purelib = _run(
        [
            str(python),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        cwd=root,
    ).stdout.strip()
    # The dependencies from this environment (a directory on sys.path, after
    # the venv's own site-packages; .pth files in it are not processed).
    Path(purelib, "deps-from-test-env.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    install = _run(
        [
            str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
            str(wheel),
        ],
        cwd=root,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    return target, wheel


def test_wheel_ships_the_schema_samples(installed: tuple[Path, Path]) -> None:
    """The samples the emulator and demo serve are inside the wheel."""
    _, wheel = installed
    names = zipfile.ZipFile(wheel).namelist()
    for sample in ("chat", "todos"):
        assert f"appsync_iam/emulator/schema_samples/{sample}.graphql" in names
    assert "appsync_iam/py.typed" in names


def test_package_and_samples_come_from_the_venv(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    """appsync_iam and its samples load from the venv, not from the clone."""
    target, _ = installed
    probe = _run(
        [
            str(target / "bin" / "python"), "-c",
            "import json, sys, appsync_iam, appsync_iam.emulator as e\n"
            "print(json.dumps([appsync_iam.__file__, str(e.sample_schema_path('chat')),"
            " e.available_samples(), sys.path]))",
        ],
        cwd=tmp_path,
        env=clean_env(tmp_path),
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    package, chat, samples, path = json.loads(probe.stdout)
    assert Path(package).is_relative_to(target)
    assert Path(chat).is_relative_to(target)
    assert samples == ["chat", "todos"]
    assert str(REPO) not in path


def test_demo_runs_from_the_installed_command(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    """``appsync-iam demo`` (the console script) runs its four steps, exit 0."""
    target, _ = installed
    done = _run(
        [str(target / "bin" / "appsync-iam"), "demo"], tmp_path, env=clean_env(tmp_path)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified the signature of AKIDEXAMPLE" in done.stdout
    assert 'data: {"listRooms": {"items": []}}' in done.stdout


def test_installed_emulator_serves_the_installed_client(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    """``appsync-iam emulator --schema todos`` serves; ``appsync-iam query`` gets
    a verified answer from it (both from the venv)."""
    target, _ = installed
    command = str(target / "bin" / "appsync-iam")
    env = clean_env(tmp_path)
    with subprocess.Popen(
        [command, "emulator", "--schema", "todos", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            exported: dict[str, str] = {}
            for line in server.stdout:
                if line.startswith("export "):
                    name, _, value = line[len("export ") :].strip().partition("=")
                    exported[name] = value.strip("'\"")
                if line.startswith("Press Ctrl-C"):
                    break
            assert "APPSYNC_URL" in exported, exported
            asked = _run(
                [command, "query", "query { __typename }"],
                tmp_path,
                env={**env, **exported},
            )
        finally:
            server.terminate()
            server.wait(timeout=20)
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout) == {"__typename": "Query"}
