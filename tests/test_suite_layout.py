"""The test suite's own layout: test modules stand alone (they import helpers, never one
another), their names are unique (pytest imports each by its bare name), and every built-in
plugin's tests/ folder is one `python -m pytest` collects."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: modules that still import another test module, and why; empty is the goal
WAITING: dict[str, str] = {}


def suite_folders() -> list[str]:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return doc["tool"]["pytest"]["ini_options"]["testpaths"]


def collected_modules() -> list[Path]:
    return sorted(p for folder in suite_folders() for p in (ROOT / folder).glob("test_*.py"))


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_test_module_imports_another():
    offenders = {}
    for path in collected_modules():
        rel = path.relative_to(ROOT).as_posix()
        bad = {m for m in imported_modules(path) if m.startswith("test_") or m == "conftest"}
        if bad and rel not in WAITING:
            offenders[rel] = sorted(bad)
    assert not offenders, f"move what they share into a helpers module or a conftest: {offenders}"
    assert len(collected_modules()) > 20


def test_every_builtin_plugin_test_folder_is_collected():
    folders = {p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("plugins/*/tests/test_*.py")}
    assert folders and folders <= set(suite_folders())


def test_module_names_are_unique_across_test_folders():
    """pytest's default import mode imports ``<folder>/test_x.py`` as ``test_x`` (the folders
    have no __init__.py): two files of one name would collide."""
    seen: dict[str, str] = {}
    for folder in suite_folders():
        for path in (ROOT / folder).glob("*.py"):
            if path.name == "conftest.py":
                continue
            rel = path.relative_to(ROOT).as_posix()
            assert path.stem not in seen, f"{rel} and {seen[path.stem]} share a module name"
            seen[path.stem] = rel
        assert not (ROOT / folder / "__init__.py").exists(), folder
