"""The shape of the code: apps depend one way, imports sit at the top of modules unless a
comment says why, and no app module grows past what one reader can hold."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The apps are the root packages of the layers contract: one list, in pyproject.toml.
APPS = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)
MAX_MODULE_LINES = 700


def _app_modules() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_the_apps_depend_one_way_as_the_layers_contract_says():
    """import-linter reads [tool.importlinter] in pyproject.toml: a lower app never imports a
    higher one, not even inside a function or under TYPE_CHECKING."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


def _local_imports_without_reason(path: Path, *, root: Path = ROOT) -> list[str]:
    source = path.read_text()
    lines = source.splitlines()
    found: list[str] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
            elif isinstance(child, ast.Import | ast.ImportFrom) and function is not None:
                same_line = lines[child.lineno - 1]
                above = lines[child.lineno - 2] if child.lineno > 1 else ""
                says_why = "#" in same_line or above.strip().startswith("#")
                in_app_ready = function == "ready" and path.name == "apps.py"
                if not (says_why or in_app_ready):
                    found.append(f"{path.relative_to(root)}:{child.lineno} in {function}()")
            else:
                visit(child, function)

    visit(ast.parse(source), None)
    return found


def test_imports_inside_functions_say_why():
    offenders = [hit for path in _app_modules() for hit in _local_imports_without_reason(path)]
    assert offenders == [], "imports inside functions need a comment saying why:\n" + "\n".join(
        offenders
    )


def test_the_checker_catches_an_import_inside_a_function_and_accepts_one_that_says_why(
    tmp_path,
):
    module = tmp_path / "services.py"
    module.write_text(
        "import os\n\n\n"
        "def f():\n    import json\n\n\n"
        "def g():\n    import csv  # deferred: only the export needs it\n\n\n"
        "def h():\n    # optional dependency, absent on small installs\n    import yaml\n"
    )
    assert _local_imports_without_reason(module, root=tmp_path) == ["services.py:5 in f()"]


@pytest.mark.parametrize("path", _app_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_app_module_passes_the_size_one_reader_can_hold(path):
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES
