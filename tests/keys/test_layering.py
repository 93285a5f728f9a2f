"""keys sits below orders, refunds, api, invoices, web and config: it never imports them,
not even inside a function."""

import ast
from pathlib import Path

import keys

HIGHER = {"orders", "refunds", "api", "invoices", "web", "config"}
KEYS_DIR = Path(keys.__file__).parent


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_keys_app_imports_no_app_above_it():
    upward = [
        f"{path.relative_to(KEYS_DIR.parent)}:{line} imports {module}"
        for path in sorted(KEYS_DIR.rglob("*.py"))
        if "migrations" not in path.parts
        for line, module in _imported_modules(path)
        if module.split(".")[0] in HIGHER
    ]
    assert upward == []
