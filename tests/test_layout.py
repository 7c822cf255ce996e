"""The package's layout rules (CONTRIBUTING.md), read from the source with ``ast``.

Every import counts, function-local ones included: a cycle hidden inside a
function is still a cycle for whoever moves the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tum2000"

# Floors, lowest first: a module may import its own floor and the floors below.
FLOORS = {
    "errors": 0, "config": 0, "interruption": 0,
    "model": 1,
    "store": 2,
    "analysis": 3, "meanfield": 3,
    "sweeps": 4,
    "plotting": 5, "chapters": 5,
    "book": 6,
    "cli": 7,
}
# The one import that runs back up, on purpose: ``simulate`` returns the
# dataset whose contract lives in the store (it is hashed into code_version
# with the model, tum2000.model.provenance.RESULT_SOURCES).
UPWARD_ALLOWED = {("tum2000.model.simulation", "tum2000.store.dataset")}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The package module that ``import name`` loads (its longest known prefix)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Every tum2000 module that ``module`` imports, anywhere in its code."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                     for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == "tum2000" and (target := resolve(name)) not in (None, module):
                found.add(target)
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def floor_of(module: str) -> int | None:
    parts = module.split(".")
    return FLOORS.get(parts[1]) if len(parts) > 1 else None  # tum2000/__init__: the face


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components with more than one module (the cycles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_import_graph_is_read():
    """The reader sees function-local imports (a guard against a blind test)."""
    assert "tum2000.model.simulation" in GRAPH["tum2000.store.cache"]  # imported inside a function
    assert "tum2000.errors" in GRAPH["tum2000.model.parameters"]


def test_no_import_cycle_between_modules():
    assert strongly_connected(GRAPH) == []


def test_imports_flow_downward():
    upward = sorted((module, target) for module, targets in GRAPH.items()
                    for target in targets
                    if None not in (floor_of(module), floor_of(target))
                    and floor_of(target) > floor_of(module)
                    and (module, target) not in UPWARD_ALLOWED)
    assert upward == []
    for pair in UPWARD_ALLOWED:  # an allowance that is no longer needed goes
        assert pair[1] in GRAPH[pair[0]], pair


def test_every_room_has_a_floor():
    rooms = {module.split(".")[1] for module in MODULES if module.count(".") >= 1}
    assert rooms == set(FLOORS)


def test_at_most_ten_modules_at_the_top_level():
    top = [p.name for p in PACKAGE.glob("*.py")]
    assert len(top) <= 10, top


def test_nothing_imports_the_command_line():
    importers = sorted(m for m, targets in GRAPH.items() if not m.startswith("tum2000.cli")
                       and any(t.startswith("tum2000.cli") for t in targets))
    assert importers == []


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                alias.name in {"environ", "getenv"} for alias in node.names):
            lines.append(node.lineno)
    return lines


def test_the_environment_is_read_in_config_alone():
    readers = {str(path.relative_to(PACKAGE)): lines for path in PACKAGE.rglob("*.py")
               if path.name != "config.py" or path.parent != PACKAGE
               if (lines := _reads_environment(ast.parse(path.read_text())))}
    assert readers == {}
    assert _reads_environment(ast.parse("import os\nos.environ.get('X')"))  # the check can fail


@pytest.mark.parametrize("hook", ["TUM2000_TEST", "TUM2000_NO_NATIVE_REPLAY", "TUM2000_PAUSE"])
def test_no_test_hook_in_the_package(hook):
    mentions = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if hook in p.read_text()]
    assert mentions == []


def test_every_exception_is_a_tum2000_error():
    """Every exception class of the package derives from Tum2000Error, except
    Interrupted (a KeyboardInterrupt, so that ``except Exception`` cannot
    swallow Ctrl-C) and its subclasses."""
    import importlib

    from tum2000.errors import Interrupted, Tum2000Error

    outside, seen = [], set()
    for module in MODULES:
        if module.endswith("__main__"):
            continue
        loaded = importlib.import_module(module)
        for value in vars(loaded).values():
            if (isinstance(value, type) and issubclass(value, BaseException)
                    and value.__module__.startswith("tum2000")):
                seen.add(value)
                if not issubclass(value, (Tum2000Error, Interrupted)):
                    outside.append(f"{value.__module__}.{value.__qualname__}")
    assert outside == []
    assert len(seen) > 10  # the walk reached the exceptions
    assert not issubclass(Interrupted, Exception)
