"""The core's import graph: no cycles, and no module imports from a floor above its own (DESIGN.md: floors)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "sentae"

# Bottom up. A module belongs to the floor of the longest prefix that names it.
FLOORS: list[tuple[str, ...]] = [
    ("sentae.version", "sentae.errors", "sentae.schema", "sentae.utils", "sentae.io", "sentae.run_lock"),
    # the package sentae.training itself is light (its Trainer is imported on first use)
    ("sentae.model", "sentae.weights", "sentae.nn", "sentae.generation.decoding", "sentae.generation.decode_config",
     "sentae.training.kl_schedules",
     "sentae.data.config", "sentae.training.config", "sentae.training.__init__"),
    ("sentae.registry", "sentae.config", "sentae.data"),
    ("sentae.run", "sentae.run_start"),
    ("sentae.training",),
    ("sentae.generation",),
    ("sentae.evaluation",),
    ("sentae.applications",),  # anomaly scores, denoising, features: over generation and evaluation
    ("sentae.api", "sentae.testing"),
    ("sentae.cli", "sentae.serve", "sentae.__main__", "sentae"),  # serve: the explorer, over the api like the cli
]


def _modules() -> dict[str, Path]:
    mods = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:`` (imports for annotations only, never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", getattr(child.test, "attr", None)) == "TYPE_CHECKING":
                todo.extend(child.orelse)
                continue
            todo.append(child)


def import_graph() -> dict[str, set[str]]:
    """Module -> the sentae modules it imports anywhere in its file (inside functions too: a lazy import is still
    a dependency). Importing ``a.b.c`` also runs the package ``a.b``, so that counts as an import of it."""
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in mods]
                targets += subs
                if len(subs) < len(node.names):  # `from pkg import name` runs pkg itself
                    targets.append(mod)
            elif isinstance(node, ast.Import):
                targets += [a.name for a in node.names]
            for target in targets:
                while target and target in mods:
                    if target != name and not name.startswith(target + "."):
                        deps.add(target)
                    target = target.rpartition(".")[0]  # its parent packages run first
        graph[name] = deps
    return graph


def floor_of(module: str) -> int:
    if module in {"sentae.training", "sentae.generation", "sentae.evaluation"}:
        module += ".__init__"  # a package's own file, not everything under it
    best, floor = -1, None
    for i, names in enumerate(FLOORS):
        for prefix in names:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, floor = len(prefix), i
    assert floor is not None, f"{module} belongs to no floor: add it to FLOORS"
    return floor


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    assert cycles(import_graph()) == []


def test_no_module_imports_from_a_floor_above_its_own():
    upward = [f"{m} (floor {floor_of(m)}) imports {d} (floor {floor_of(d)})"
              for m, deps in sorted(import_graph().items()) for d in sorted(deps) if floor_of(d) > floor_of(m)]
    assert upward == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
])
def test_the_cycle_finder_finds_cycles(graph, expected):
    assert cycles(graph) == expected


def test_generation_does_not_import_evaluation_and_data_not_training():
    graph = import_graph()
    for module, deps in graph.items():
        if module.startswith("sentae.generation"):
            assert not any(d.startswith("sentae.evaluation") for d in deps), module
        if module.startswith("sentae.data"):
            assert not any(d.startswith("sentae.training") for d in deps), module
