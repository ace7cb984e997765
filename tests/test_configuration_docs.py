"""docs/configuration.md against the Settings class: every setting documented, nothing
documented that is not a setting, and defaults written as literals equal to the class's.

The test and bench variables the code reads with os.environ are documented in the same
page, apart from the settings; they are checked the same way.
"""

from __future__ import annotations

import os
import re
from datetime import time
from enum import Enum
from pathlib import Path

from app.config import Settings


def _repository() -> Path:
    here = Path(__file__).resolve()
    return next(p for p in here.parents if (p / "pyproject.toml").exists())


ROOT = _repository()
DOC = ROOT / "docs" / "configuration.md"
# Where the settings end and the variables read by tests and benches begin.
KNOBS_HEADING = "## Test and benchmark variables"
ROW = re.compile(r"^\| `(LAUREL_[A-Z0-9_]+)` \| ([^|]*) \| ([^|]*) \|", re.MULTILINE)
LITERAL = re.compile(r"^`([^`]*)`$")
# os.environ.get("LAUREL_X"), os.environ["LAUREL_X"], getenv, ${LAUREL_X}, process.env.LAUREL_X
ENV_READ = re.compile(
    r"""(?:environ(?:\.get\(|\[)\s*["']|getenv\(\s*["']|\$\{?|process\.env\.)(LAUREL_[A-Z0-9_]+)"""
)
SKIPPED_DIRS = {".git", ".venv", "node_modules", "var", ".mypy_cache", ".ruff_cache"}
SCANNED_SUFFIXES = {".py", ".sh", ".mjs", ".js", ".ts"}


def setting_names() -> set[str]:
    return {f"LAUREL_{name.upper()}" for name in Settings.model_fields}


def documented_rows() -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]:
    """(settings, knobs): variable -> (second cell, third cell) of each table row."""
    text = DOC.read_text()
    settings_part, _, knobs_part = text.partition(KNOBS_HEADING)
    assert knobs_part, f"{DOC} lost its {KNOBS_HEADING!r} section"

    def rows(part: str) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for match in ROW.finditer(part):
            name = match.group(1)
            assert name not in found, f"{name} is documented twice"
            found[name] = (match.group(2).strip(), match.group(3).strip())
        return found

    return rows(settings_part), rows(knobs_part)


def as_written(value: object) -> str:
    """A default as an operator writes it in the environment."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


def test_every_setting_is_documented_and_every_documented_one_exists():
    documented, _ = documented_rows()
    missing = setting_names() - documented.keys()
    unknown = documented.keys() - setting_names()
    assert not missing, f"settings missing from {DOC.name}: {sorted(missing)}"
    assert not unknown, f"{DOC.name} names settings the Settings class lacks: {sorted(unknown)}"


def test_literal_defaults_are_the_settings_defaults():
    documented, _ = documented_rows()
    wrong = {}
    for name, (_, default_cell) in documented.items():
        literal = LITERAL.match(default_cell)
        if literal is None:  # said in words (unset, generated, the repository's ...)
            continue
        field = Settings.model_fields.get(name.removeprefix("LAUREL_").lower())
        if field is None:  # reported by the test above
            continue
        if literal.group(1) != as_written(field.default):
            wrong[name] = (literal.group(1), as_written(field.default))
    assert not wrong, f"defaults in {DOC.name} (documented, actual): {wrong}"


def _environment_reads() -> set[str]:
    names: set[str] = set()
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in SKIPPED_DIRS]
        for file in files:
            path = Path(folder) / file
            if path.suffix not in SCANNED_SUFFIXES and path.parent.name != ".ci":
                continue
            if path == Path(__file__).resolve():  # its own patterns are no reads
                continue
            names.update(ENV_READ.findall(path.read_text(errors="replace")))
    return names


def test_test_and_bench_variables_are_documented_apart_from_the_settings():
    _, knobs = documented_rows()
    read = _environment_reads() - setting_names()
    assert "LAUREL_TEST_POSTGRES_URL" in read  # the scan finds what it is meant to
    assert not read - knobs.keys(), f"undocumented variables: {sorted(read - knobs.keys())}"
    stale = knobs.keys() - read
    assert not stale, f"{DOC.name} documents variables nothing reads: {sorted(stale)}"
    assert not knobs.keys() & setting_names(), "a setting is listed among the test variables"
