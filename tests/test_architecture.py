"""The shape of the code: no import cycles between the project's modules, and imports inside
functions only where Django or a registry needs them.

The layers between apps (config → tenants → accounts → documents → search → queries →
analytics, operators) are checked by import-linter in `make lint` (pyproject.toml); this
checks what it does not: cycles inside an app, and function-level imports that hide one.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("config", "tenants", "accounts", "documents", "search", "queries", "analytics", "operators")
# Where a function-level import of a project module is the right tool: Django's app
# registry (ready() runs once the apps are loaded), and plugin registries that import a
# backend only when it is chosen (the optional model must not load with the others).
LAZY_ALLOWED = ("apps.py", "registry.py")


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, bool, int]]:
    """(imported project module, inside a function, line) for each import of `path`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, bool, int]] = []

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) == "TYPE_CHECKING":
                continue  # for the type checker only: never imported at run time
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                # `from pkg import module` imports the module when it is one.
                names = [f"{child.module}.{alias.name}" for alias in child.names]
            for name in names:
                target = resolve(name)
                if target is not None and isinstance(child, ast.Import | ast.ImportFrom):
                    found.append((target, in_function, child.lineno))
            visit(child, nested)

    visit(tree, False)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        if path.name in LAZY_ALLOWED:
            continue  # runs after every module is loaded: never part of an import cycle
        for target, _lazy, _line in _imports(path, modules):
            if target != name and not name.startswith(f"{target}."):
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycles_between_project_modules():
    assert _cycles(_graph()) == []


def test_function_level_imports_of_project_modules_only_where_needed():
    modules = _modules()
    lazy = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for name, path in modules.items()
        if path.name not in LAZY_ALLOWED
        for target, in_function, line in _imports(path, modules)
        if in_function
    ]
    assert lazy == []


def test_the_checker_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
