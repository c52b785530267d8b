"""The package's import structure: the model and its runs (``sim``) never import the analysis, no module imports
another's private names, and there is no import cycle (function-level imports count too)."""

from __future__ import annotations

import ast

from helpers import ROOT

PACKAGES = ("sim", "analysis")


def module_imports() -> dict[str, list[tuple[str, str]]]:
    """Each module of the packages -> the (module, name) pairs it imports from the packages, wherever in it."""
    graph = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            name = f"{package}.{path.stem}" if path.stem != "__init__" else package
            graph[name] = list(_imports(ast.parse(path.read_text(encoding="utf-8"))))
    return graph


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield (submodule, "") if node.module in PACKAGES else (node.module, alias.name)
        elif isinstance(node, ast.Import):
            yield from ((a.name, "") for a in node.names if a.name.split(".")[0] in PACKAGES)


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
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

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_model_and_runs_never_import_the_analysis():
    upward = {m: sorted({t for t, _ in deps if t.startswith("analysis")})
              for m, deps in module_imports().items() if m.startswith("sim")}
    assert not {m: d for m, d in upward.items() if d}


def test_no_module_imports_private_names_of_another():
    private = {m: sorted(f"{t}.{n}" for t, n in deps if n.startswith("_") and t != m)
               for m, deps in module_imports().items()}
    assert not {m: p for m, p in private.items() if p}


def test_no_import_cycles():
    imports = module_imports()
    graph = {m: sorted({t for t, _ in deps if t in imports and t != m}) for m, deps in imports.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
