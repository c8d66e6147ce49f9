"""The generator's modules only look down: no module imports, even lazily or for types, one that imports it
back (DESIGN.md: spec types apart from their rules, predictive and generative side by side on shared bases)."""

from __future__ import annotations

import ast
from pathlib import Path

import mcc

PACKAGE = Path(mcc.__file__).parent


def local_imports(path: Path) -> set[str]:
    """The mcc modules (top level of the package) ``path`` imports, at any depth of its code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mcc."):
            names.add(node.module.split(".")[1])
    return names


def test_no_module_of_the_generator_imports_one_that_imports_it_back():
    modules = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()
    }
    graph = {p.stem: local_imports(p) & modules for p in PACKAGE.glob("*.py")}
    cycles = []

    def visit(module: str, path: list[str], done: set[str]) -> None:
        if module in path:
            cycles.append(" -> ".join([*path[path.index(module) :], module]))
            return
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module], done)
        done.add(module)

    finished: set[str] = set()
    for module in sorted(graph):
        visit(module, [], finished)
    assert cycles == []


def test_the_generative_plan_uses_only_public_names_of_the_shared_base():
    tree = ast.parse((PACKAGE / "generative_plan.py").read_text())
    private = [alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1
               for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]  # fmt: skip
    assert private == []
