"""The catalog sits just above core (issue 11): it never imports an app above it, not even
inside a function, so any app may use products without pulling in keys, orders or pages."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT_APPS = {
    "accounts", "api", "catalog", "config", "core", "invoices", "keys", "orders",
    "policies", "pricing", "refunds", "web", "webhooks",
}  # fmt: skip
BELOW_OR_SELF = {
    "catalog": {"catalog", "core"},
    "accounts": {"accounts", "catalog", "webhooks", "core"},
}


def _imported_apps(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots & PROJECT_APPS


@pytest.mark.parametrize("app", sorted(BELOW_OR_SELF))
def test_an_app_below_the_pages_imports_nothing_above_it(app):
    upward = {
        str(path.relative_to(ROOT)): sorted(_imported_apps(path) - BELOW_OR_SELF[app])
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    }
    assert {name: apps for name, apps in upward.items() if apps} == {}
