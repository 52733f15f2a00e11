"""The package's import graph: no cycle, and nothing imports upward. Every module of ganbench is parsed
(not imported) with ``ast``; its imports of ganbench modules, at module level and inside functions
alike, are the graph's edges."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ganbench"

# Lower layers never import higher ones; a module may import its own layer (the graph has no cycle).
LAYERS = [
    # 0: data, numbers and files, nothing of ganbench above them
    {"ganbench", "ganbench.constants", "ganbench.data", "ganbench.stats", "ganbench.nets", "ganbench.images",
     "ganbench.files", "ganbench.machine", "ganbench.adam", "ganbench.metrics", "ganbench.metrics.*",
     "ganbench.convergence", "ganbench.baselines", "ganbench.metric_spec", "ganbench.verdicts"},
    # 1: networks, training, the image datasets' evaluation
    {"ganbench.archs", "ganbench.losses", "ganbench.variants", "ganbench.variants.*", "ganbench.train",
     "ganbench.features", "ganbench.mnist_classifier", "ganbench.datasets", "ganbench.datasets.*"},
    # 2: hyperparameter overrides, and the presets (settings, budgets, the papers' tables)
    {"ganbench.hparams", "ganbench.presets"},
    # 3: a job's configuration and id (a preset's jobs too), and the record store
    {"ganbench.config", "ganbench.store"},
    # 4: one ensemble evaluated; ensembles planned
    {"ganbench.ensemble_records", "ganbench.planner", "ganbench.eta"},
    # 5: where ensembles run
    {"ganbench.executors"},
    # 6: the driver, and what reads the store
    {"ganbench.driver", "ganbench.auto", "ganbench.sampling", "ganbench.scoring", "ganbench.reproduction",
     "ganbench.reproduction_cells",
     "ganbench.report", "ganbench.report_tables", "ganbench.report_figures", "ganbench.report_images",
     "ganbench.report_sections", "ganbench.population",
     "ganbench.sensitivity", "ganbench.reevaluate", "ganbench.report_output"},
    # 7: entry points
    {"ganbench.cli", "ganbench.cli_parser", "ganbench.__main__"},
]

# The one import against the layers, kept inside a function: the package's public ``ganbench.score``
# imports ganbench.scoring when called. It is left out of the cycle and layer checks below.
LAZY_UPWARD = {("ganbench", "ganbench.scoring")}



def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str:
    """The module an imported name lives in: ``ganbench.metrics.suite`` stays itself, ``ganbench.executors``
    imported as ``from ganbench import executors`` is the module, ``__version__`` is the package."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(name: str) -> dict[str, bool]:
    """The ganbench modules ``name`` imports: {module: True if at module level, False if only inside a
    function}."""
    tree = ast.parse(MODULES[name].read_text(), str(MODULES[name]))
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, bool] = {}

    def visit(node, top: bool):
        for child in ast.iter_child_nodes(node):
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            targets = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    base = ".".join(package.split(".")[:len(package.split(".")) - child.level + 1]
                                    + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in child.names]
            for t in targets:
                if t == "ganbench" or t.startswith("ganbench."):
                    dep = resolve(t)
                    if dep != name:
                        found[dep] = found.get(dep, False) or top
            visit(child, inner)

    visit(tree, True)
    return found


GRAPH = {name: imports(name) for name in MODULES}


def layer_of(name: str) -> int:
    for i, layer in enumerate(LAYERS):
        if name in layer or any(p.endswith(".*") and name.startswith(p[:-1]) for p in layer):
            return i
    raise AssertionError(f"{name} is in no layer of tests/test_imports.py: add it to LAYERS")


def edges(include_lazy_upward: bool = False):
    for a, deps in GRAPH.items():
        for b in deps:
            if include_lazy_upward or (a, b) not in LAZY_UPWARD:
                yield a, b


def test_every_module_has_a_layer():
    for name in MODULES:
        layer_of(name)


def test_the_import_graph_has_no_cycle():
    succ: dict[str, list[str]] = {n: [] for n in MODULES}
    for a, b in edges():
        succ[a].append(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def dfs(n):
        state[n] = 1
        path.append(n)
        for m in sorted(succ[n]):
            if state.get(m) == 1:
                cycle = path[path.index(m):] + [m]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if m not in state:
                dfs(m)
        path.pop()
        state[n] = 2

    for n in sorted(MODULES):
        if n not in state:
            dfs(n)


def test_nothing_imports_upward():
    upward = [f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
              for a, b in edges() if layer_of(b) > layer_of(a)]
    assert not upward, "\n".join(upward)


def test_the_allowed_upward_import_stays_inside_a_function():
    for a, b in LAZY_UPWARD:
        assert b in GRAPH[a], f"{a} no longer imports {b}: drop it from LAZY_UPWARD"
        assert GRAPH[a][b] is False, f"{a} imports {b} at module level: that is an import cycle when loading"


def test_the_store_and_the_configs_load_without_torch():
    code = ("import sys, ganbench.store, ganbench.config, ganbench.presets; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


MAX_LINES = 450  # a module longer than this holds more than one idea: split it where the ideas part


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_longer_than_its_limit(name):
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES


def test_nothing_cites_a_file_outside_the_repository():
    """What the code needs from the reference material is in docs/ (a fresh clone has nothing beside it)."""
    root = PACKAGE.parent
    files = [*PACKAGE.rglob("*.py"), *(root / "scripts").glob("*"), *(root / "benchmarks").glob("*.py"),
             root / "README.md", root / "run_all.sh", root / "run_tests.sh"]
    assert not [str(f.relative_to(root)) for f in files if f.is_file() and "../shared" in f.read_text()]
