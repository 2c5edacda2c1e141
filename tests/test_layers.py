"""The layer contracts in pyproject.toml (import-linter): complete, kept, and able to fail."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "entrypoint" / "preflight"
LINT_IMPORTS = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")


def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def top_level_modules() -> set[str]:
    names = {path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    return names | {path.name for path in PACKAGE.iterdir() if (path / "__init__.py").is_file()}


def test_every_top_level_module_has_a_layer():
    pipeline = contracts()["pipeline"]
    assert pipeline["type"] == "layers" and pipeline["exhaustive"] is True
    listed = {name.strip("() ") for layer in pipeline["layers"] for name in layer.split("|")}
    assert top_level_modules() - listed == set(), "give each new module its place in [tool.importlinter]"


def lint_imports(root: Path, config: Path) -> subprocess.CompletedProcess[str]:
    if not Path(LINT_IMPORTS).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    return subprocess.run(
        [LINT_IMPORTS, "--no-logo", "--no-cache", "--config", str(config)],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root / "entrypoint")},
        capture_output=True,
        text=True,
    )


def test_the_contracts_are_kept():
    result = lint_imports(ROOT, ROOT / "pyproject.toml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "message"),
    [
        ("rules/base.py", "from preflight import preview", "rules is not allowed to import preflight.preview"),
        ("report/render.py", "import subprocess", "report is not allowed to import subprocess"),
    ],
)
def test_an_upward_or_io_import_breaks_a_contract(tmp_path, module, line, message):
    shutil.copytree(PACKAGE, tmp_path / "entrypoint" / "preflight", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "entrypoint" / "preflight" / module
    target.write_text(target.read_text() + f"\n{line}  # planted by the test\n")
    result = lint_imports(tmp_path, tmp_path / "pyproject.toml")
    assert result.returncode == 1
    assert message in re.sub(r"\s+", " ", result.stdout)
