"""The project's import graph, every import counted (function-level ones too): no cycles, and
the ground floor (contract, config, environment, redaction, dataset) imports nothing above it."""
import ast
from pathlib import Path
from typing import Dict, Set

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("tabflow", "pipeline", "modules", "runners")
GROUND_FLOOR = ("tabflow", "tabflow.contract", "tabflow.config", "tabflow.environment",
                "tabflow.redaction", "tabflow.dataset")


def _modules() -> Dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> Set[str]:
    """Project modules `name` imports anywhere in its file. A package's lazy module-level
    `__getattr__` (PEP 562: pipeline/__init__.py, for KFP's type lookup) is left out: it runs
    only for a caller that asks for that name, and such a caller imports the module itself."""
    tree = ast.parse(path.read_text())
    tree.body = [n for n in tree.body
                 if not (isinstance(n, ast.FunctionDef) and n.name == "__getattr__")]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
    out = set()
    for module in found:
        while module and module not in MODULES:
            module = module.rpartition(".")[0]
        if module and module != name:
            out.add(module)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles():
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(GRAPH[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return cycles


def test_the_graph_sees_function_level_imports():
    assert "tabflow.metadata.store" in GRAPH["runners.local_runner"]


def test_no_module_imports_itself_back_through_others():
    assert _cycles() == []


def test_the_ground_floor_imports_nothing_above_it():
    for name, imported in GRAPH.items():
        if name in GROUND_FLOOR or name.startswith("tabflow.config."):
            above = sorted(m for m in imported
                           if m not in GROUND_FLOOR and not m.startswith("tabflow.config"))
            assert not above, f"{name} imports {above}"


def test_compat_imports_no_pipeline_or_runner_code():
    """tabflow.compat adapts the libraries; what the pipeline and the runners decide stays with
    them, and reaches compat through hooks and parameters."""
    for name, imported in GRAPH.items():
        if name == "tabflow.compat" or name.startswith("tabflow.compat."):
            above = sorted(m for m in imported if m.split(".")[0] in ("pipeline", "runners"))
            assert not above, f"{name} imports {above}"
