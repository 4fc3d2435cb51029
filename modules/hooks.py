"""A dataset's optional hooks module (dataset.yaml `hooks:`), loaded from its file.

Each file is imported under a module name made from its absolute path, so two datasets' hooks
(both called hooks.py) never replace each other in one process, and loading one twice returns
the module already imported.

A hooks module may define:
- label(inputs) -> tensor: the label from the raw columns, when the data has none;
- label_from_raw(columns) -> numpy array: the same on {column: numpy array} for the data gate;
- derived_features(inputs) -> {name_xf: tensor}: transformed inputs of the dataset's own;
- derived_sizes() -> {name_xf: category count, or 0 for a dense input}: their sizes.
label and derived_features get {column: dense [batch] tensor}, a missing number as 0 and a
missing string as "".
"""
import hashlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Dict, Optional


def module_name(path: str) -> str:
    return "tabflow_hooks_" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:16]


# The project's root: a relative hooks path (a dataset folder inside the project) is read from
# here, so the same plan finds the file on this machine and in the container image, which holds
# the project at another path.
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def portable(path: str) -> str:
    """`path` relative to the project's root when it lies inside it, else absolute."""
    path = os.path.abspath(path)
    relative = os.path.relpath(path, PROJECT_ROOT)
    return path if relative.startswith("..") else relative


def load(path: str) -> ModuleType:
    """The hooks module in the file at `path` (relative: to the project's root), imported once
    per process."""
    path = os.path.join(PROJECT_ROOT, path) if not os.path.isabs(path) else path
    name = module_name(path)
    if name in sys.modules:
        return sys.modules[name]
    if not os.path.isfile(path):
        raise ValueError(f"{path}: hooks file not found")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def of(plan: dict) -> Optional[ModuleType]:
    """The hooks module a feature plan names, or None."""
    return load(plan["hooks"]) if plan.get("hooks") else None


def derived_sizes(plan: dict) -> Dict[str, int]:
    """{derived input name: category count, or 0 for dense} of the plan's hooks ({} if none)."""
    hooks = of(plan)
    return dict(hooks.derived_sizes()) if hooks is not None and hasattr(
        hooks, "derived_sizes") else {}
