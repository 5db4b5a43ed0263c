"""Import hygiene: no botocore at import time, every module imports on its own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
