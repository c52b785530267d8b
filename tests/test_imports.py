"""The package's import structure: three layers with one-way imports, no module importing another's private
names, and no import cycle (function-level imports count too); ``import sim`` alone loads none of the heavy
libraries.

    sim.model   the scenario schema, model, agents, mechanisms, engine, readout table, reference model
    sim.runs    designs, batch, executors, and sim.runs.store, the one door to the output folders
    analysis    statistics, validation, reports and figures: through the door and the two tables only
    sim, sim.api, run.py, app.py   the interfaces on top (sim and sim.api never import the analysis)
"""

from __future__ import annotations

import ast
import subprocess
import sys

from helpers import ROOT

PACKAGES = ("sim", "analysis")


def module_imports() -> dict[str, list[tuple[str, str]]]:
    """Each module of the packages -> the (module, name) pairs it imports from the packages, wherever in it."""
    graph = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            graph[name] = list(_imports(ast.parse(path.read_text(encoding="utf-8"))))
    return graph


#: layer -> the modules (prefixes) it may import from the packages; sim.errors, the shared error type, is below all
ALLOWED = {
    "sim.model": ("sim.errors", "sim.model"),
    "sim.runs": ("sim.errors", "sim.model", "sim.runs"),
    "analysis": ("sim.errors", "analysis", "sim.runs.store", "sim.model.readout_table", "sim.model.params"),
}


def layer_of(module: str) -> str | None:
    return next((layer for layer in ALLOWED if module == layer or module.startswith(layer + ".")), None)


def violations(graph: dict[str, list[tuple[str, str]]]) -> dict[str, list[str]]:
    """Each module of a layer -> the imports its layer does not allow."""
    found = {}
    for module, deps in graph.items():
        layer = layer_of(module)
        if layer is None:
            continue
        bad = sorted({t for t, _ in deps if not _allowed(t, ALLOWED[layer])})
        if bad:
            found[module] = bad
    return found


def _allowed(target: str, prefixes: tuple[str, ...]) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def _imports(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield (submodule, "") if _is_module(submodule) else (node.module, alias.name)
        elif isinstance(node, ast.Import):
            yield from ((a.name, "") for a in node.names if a.name.split(".")[0] in PACKAGES)


def _is_module(name: str) -> bool:
    """Whether ``name`` (``sim.model.kernels``) is a module or package of the repository."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


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


def test_each_layer_imports_only_what_it_may():
    assert violations(module_imports()) == {}


def test_the_layer_check_finds_an_upward_import():
    graph = {"sim.model.kernels": [("sim.runs.store", "")], "sim.runs.batch": [("analysis.report", "x")],
             "analysis.report": [("sim.runs.batch", "read_manifest"), ("sim.runs.store", "load_batch")],
             "sim.model.model": [("sim.model.kernels", "")]}
    assert violations(graph) == {"sim.model.kernels": ["sim.runs.store"], "sim.runs.batch": ["analysis.report"],
                                 "analysis.report": ["sim.runs.batch"]}


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


def test_import_sim_loads_no_heavy_module():
    """In a new interpreter (this one has loaded everything): ``import sim`` leaves the model's libraries unloaded."""
    code = "import sys, sim; print(sorted(m for m in ('pandas', 'numpy', 'numba', 'mesa') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
