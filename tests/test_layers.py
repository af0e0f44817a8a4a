"""The structure of dtcli drawn from its imports (top-level and lazy, as written in the
source): every import goes down the layers of the README's code map, and no module imports
itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

import dtcli

ROOT = Path(dtcli.__file__).parent

#: bottom to top; a module may import its own layer and the ones below
LAYERS: list[tuple[str, ...]] = [
    ("dtcli", "dtcli.contracts"),
    ("dtcli.plugins", "dtcli.settings"),
    ("dtcli.config",),
    ("dtcli.runs", "dtcli.zoo"),
    ("dtcli.factory",),
    ("dtcli.engine",),
    ("dtcli.analysis",),
    ("dtcli.experiments", "dtcli.testing"),
    ("dtcli.cli", "dtcli.tui", "dtcli.api", "dtcli.__main__"),
]


def module_names() -> dict[str, Path]:
    names = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The dtcli modules ``name`` imports anywhere in its source (lazy imports included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("dtcli") and target != name:
                found.add(target)
    return found


def layer_of(name: str) -> int:
    best = (-1, -1)
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + "."):
                best = max(best, (len(prefix), index))
    assert best[1] >= 0, f"{name} is in no layer: add it to LAYERS and the README's code map"
    return best[1]


def graph() -> dict[str, set[str]]:
    known = module_names()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_import_goes_down():
    upward = sorted(f"{a} -> {b}" for a, targets in graph().items() for b in targets
                    if layer_of(b) > layer_of(a) and not b == "dtcli")
    assert upward == []


def test_no_module_imports_itself_back():
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    # a package's __init__ re-exporting its own modules is not a circle of concerns
    cycles = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c)]
    assert cycles == []


def test_the_root_of_dtcli_stays_small():
    """Layers live in folders; the root holds the entry points and one module per layer."""
    root_modules = sorted(p.stem for p in ROOT.glob("*.py"))
    assert len(root_modules) <= 12, root_modules
