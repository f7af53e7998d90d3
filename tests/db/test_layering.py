"""The domain and persistence layers never import the Discord client or the web framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("discord", "aiohttp.web")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("package", ["provisioning", "db"])
def test_no_adapter_imports(package: str) -> None:
    """No module of provisioning/ or db/ imports discord or aiohttp.web."""
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    }
    assert offenders == set()


def test_web_handlers_see_only_services() -> None:
    """No module of web/handlers/ imports db or sqlalchemy: persistence stays behind services
    (idempotency's transaction hook is built in web/idempotent.py, not in a handler)."""
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "web" / "handlers").rglob("*.py"))
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in ("db", "sqlalchemy"))
    }
    assert offenders == set()
