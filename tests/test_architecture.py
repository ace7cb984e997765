"""Imports point inward: workers -> app -> gamification, and the API layer stays thin."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names)


def imports(package: str) -> list[tuple[Path, str]]:
    found = []
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found += [(path, alias.name.split(".")[0]) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module.split(".")[0]))
    return found


def offenders(package: str, allowed) -> list[str]:
    return sorted(f"{p.relative_to(ROOT)}: {m}" for p, m in imports(package) if not allowed(m))


def test_gamification_uses_only_the_standard_library():
    own = {"gamification", "__future__"}
    assert offenders("gamification", lambda m: m in STDLIB or m in own) == []


def test_app_never_imports_workers():
    assert offenders("app", lambda m: m != "workers") == []


@pytest.mark.parametrize("package", ["app/services", "app/models"])
def test_services_and_models_know_nothing_of_the_web(package):
    web = {"strawberry", "starlette", "graphql", "uvicorn", "arq"}
    assert offenders(package, lambda m: m not in web) == []


def test_the_api_never_imports_workers_or_arq():
    assert offenders("app/api", lambda m: m not in {"workers", "arq"}) == []


def test_workers_never_import_the_api():
    bad = [
        f"{p.relative_to(ROOT)}"
        for p in (ROOT / "workers").rglob("*.py")
        if "app.api" in p.read_text()
    ]
    assert bad == []
