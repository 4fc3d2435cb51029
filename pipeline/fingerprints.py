"""Content fingerprints that make cache keys and provenance follow file contents, not paths.

A component's code fingerprint covers the project files its entry module runs (found by
following that module's own imports, so a new import is covered without a list to keep up to
date) and the lock file, which pins every library the code runs on.
"""
import ast
import hashlib
import json
from pathlib import Path
from typing import Dict, Iterable, List, Optional

from tabflow import contract as C

# The project's own packages: imports of anything else (TFX, TensorFlow, the standard library)
# are covered by the lock file. PROJECT_ROOT is tabflow.config's, not imported from there so
# that the gates' fingerprints do not cover the configuration code.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("modules", "pipeline", "tabflow")
LOCK_FILE = "requirements.lock"


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_files(paths: Iterable) -> str:
    """One digest over several files, keyed by file name so renames count as changes."""
    h = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        h.update(path.name.encode())
        h.update(b"\0")
        h.update(sha256_file(path).encode())
    return h.hexdigest()


def _module_file(root: Path, name: str) -> Optional[Path]:
    """The file of project module `name` under `root`, or None when it is not ours."""
    if name.split(".")[0] not in PROJECT_PACKAGES:
        return None
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(path: Path, module: str) -> List[str]:
    """Every module `path` imports, anywhere in the file (function-level imports included),
    with each package on the way: importing a.b runs a/__init__.py first. A module-level
    `__getattr__` (PEP 562) is skipped: its lazy imports run only for a caller that asks for
    that name, and such a caller imports the module itself."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    tree.body = [node for node in tree.body
                 if not (isinstance(node, ast.FunctionDef) and node.name == "__getattr__")]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.append(base)
            # `from tabflow import contract` imports the submodule tabflow.contract.
            names += [f"{base}.{alias.name}" for alias in node.names]
    out = []
    for name in names:
        parts = name.split(".")
        out += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return out


def project_files(modules: Iterable[str], root: Path = PROJECT_ROOT) -> Dict[str, Path]:
    """{path relative to root: file} of every project file that importing `modules` runs."""
    seen: Dict[str, Path] = {}
    todo = list(modules)
    for name in list(todo):
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
    done = set()
    while todo:
        name = todo.pop()
        if name in done:
            continue
        done.add(name)
        path = _module_file(root, name)
        if path is None:
            continue
        seen[path.relative_to(root).as_posix()] = path
        todo += _imported_names(path, name)
    return dict(sorted(seen.items()))


def code_files(modules: Iterable[str], root: Path = PROJECT_ROOT) -> Dict[str, str]:
    """{relative path: sha256} of the project files `modules` run, plus the lock file."""
    files = {rel: sha256_file(path) for rel, path in project_files(modules, root).items()}
    lock = root / LOCK_FILE
    if lock.is_file():
        files[LOCK_FILE] = sha256_file(lock)
    return files


def code_fingerprint(modules: Iterable[str], root: Path = PROJECT_ROOT) -> str:
    """One sha256 over code_files(modules): the value a component's cache key carries."""
    return hashlib.sha256(
        json.dumps(code_files(modules, root), sort_keys=True).encode()).hexdigest()


def modules_fingerprint() -> str:
    """Digest of the user code package (`modules/`) that Transform, Tuner and Trainer import."""
    import modules
    return sha256_files(Path(modules.__file__).parent.glob("*.py"))


# The project modules each node runs, by node id (tabflow/contract.py). Nodes missing here run
# none of our code. CsvExampleGen runs the batched executor (TFX's, where that runs instead, is
# pinned by the lock file); the Evaluator has no parameter to carry a fingerprint: its
# eval_config is already one of its exec properties and its model input is new whenever
# Trainer re-ran. Resolver nodes are never cached: their strategy code runs on every run.
COMPONENT_CODE = {
    C.CURATED_SCHEMA: ("pipeline.components",),
    C.CSV_CHECK: ("pipeline.components",),
    C.EXAMPLE_GEN: ("pipeline.csv_examples",),
    # A dataset's hooks module, which the gate and the model code load by path, joins these
    # nodes' fingerprints in pipeline/inputs.py.
    C.ANOMALY_GATE: ("pipeline.components",),
    C.DRIFT_GATE: ("pipeline.drift_gate",),
    C.TRANSFORM: ("modules.transform",),
    C.TUNER: ("modules.tuner", "pipeline.tuning"),
    C.TRAINER: ("modules.trainer",),
    C.PUSHER: ("pipeline.push",),
    C.PROVENANCE: ("pipeline.provenance",),
}


def component_fingerprints(root: Path = PROJECT_ROOT) -> Dict[str, str]:
    """{node id: code_fingerprint of what it runs} for every node in COMPONENT_CODE."""
    return {node: code_fingerprint(modules, root) for node, modules in COMPONENT_CODE.items()}


def pipeline_code_files(root: Path = PROJECT_ROOT) -> Dict[str, str]:
    """{relative path: sha256} of every project file any node runs, and the lock file."""
    files: Dict[str, str] = {}
    for modules in COMPONENT_CODE.values():
        files.update(code_files(modules, root))
    return dict(sorted(files.items()))
