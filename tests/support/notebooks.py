"""Execute a notebook top to bottom in a real Jupyter kernel, as a test would.

InteractiveContext's `run`/`show` (and TFMA's widgets) do nothing outside IPython, so importing
a notebook's code is not enough: the notebook must run in a kernel. `execute_notebook` starts
one on this interpreter (the project's venv when the tests run from it), never on whatever a
global "python3" kernelspec points at, and checks that before the first cell runs.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Mapping, Optional, Union

import nbformat
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

REPO = Path(__file__).resolve().parents[2]
REVIEW_NOTEBOOK = REPO / "notebooks" / "model_review.ipynb"
KERNEL_NAME = "taxi-tests-venv"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class NotebookCellError(AssertionError):
    """A notebook cell failed (error, timeout or dead kernel); the message names the cell."""

    def __init__(self, message: str, cell_index: Optional[int], output_path: Path):
        super().__init__(message)
        self.cell_index = cell_index
        self.output_path = output_path


class _ThisInterpreterKernelSpecs(KernelSpecManager):
    """Resolves KERNEL_NAME to ipykernel on sys.executable, ignoring installed kernelspecs."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name == KERNEL_NAME:
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name=f"Python ({sys.executable})", language="python",
                resource_dir="")
        return super().get_kernel_spec(kernel_name)


def execute_notebook(path: Union[str, Path], env: Mapping[str, str],
                     output_path: Union[str, Path],
                     timeout_per_cell: int = 900) -> nbformat.NotebookNode:
    """Run every cell of the notebook at `path`; return the executed notebook.

    - kernel: ipykernel on this interpreter (sys.executable), verified from inside the kernel;
    - kernel environment: this process's environment plus `env`;
    - working directory: the repository root;
    - any cell error, a cell running past `timeout_per_cell` seconds or a dead kernel raises
      NotebookCellError naming the cell index and the error;
    - the executed notebook (also a partly executed one, on failure) is written to
      `output_path`, and what the kernel process printed outside cells to
      `<output_path>.kernel.log`.
    """
    path, output_path = Path(path), Path(output_path)
    nb = nbformat.read(path, as_version=4)
    km = AsyncKernelManager(kernel_name=KERNEL_NAME,
                            kernel_spec_manager=_ThisInterpreterKernelSpecs())
    state = {"cell": None}

    async def on_cell_start(cell, cell_index, **_):
        state["cell"] = cell_index

    client = NotebookClient(
        nb, km=km, timeout=timeout_per_cell, kernel_name=KERNEL_NAME, allow_errors=False,
        resources={"metadata": {"path": str(REPO)}},  # the kernel's cwd
        on_cell_start=on_cell_start)

    async def check_interpreter(notebook):
        lines = []

        def hook(msg):
            if msg["msg_type"] == "stream":
                lines.append(msg["content"]["text"])

        await client.kc.execute_interactive(
            "import sys; print(sys.executable)", store_history=False, output_hook=hook,
            timeout=120)
        seen = "".join(lines).strip()
        if seen != sys.executable:
            raise RuntimeError(f"the notebook kernel runs {seen!r}, not {sys.executable!r}")

    client.on_notebook_start = check_interpreter
    kernel_env = {**os.environ, **{k: str(v) for k, v in env.items()}}
    output_path.parent.mkdir(parents=True, exist_ok=True)
    kernel_log = _kernel_log(output_path)
    # nbclient only shuts down kernels it created itself; this one is ours to stop.
    try:
        # What the kernel process writes outside any cell (start-up, a crash) goes to a log file.
        with open(kernel_log, "w") as log:
            client.execute(env=kernel_env, stdout=log, stderr=log)
    except CellExecutionError as e:
        raise _fail(nb, output_path, state["cell"],
                    f"{e.ename}: {e.evalue}\n{_ANSI.sub('', str(e))}") from e
    except CellTimeoutError as e:
        raise _fail(nb, output_path, state["cell"],
                    f"timed out after {timeout_per_cell} s: {e}") from e
    except DeadKernelError as e:
        raise _fail(nb, output_path, state["cell"],
                    f"the kernel died: {e}; see its log {kernel_log}") from e
    finally:
        if km.has_kernel:
            client._cleanup_kernel()  # pylint: disable=protected-access
    _write(nb, output_path)
    return nb


def _kernel_log(output_path: Path) -> Path:
    return output_path.with_name(output_path.name + ".kernel.log")


def _write(nb: nbformat.NotebookNode, output_path: Path) -> None:
    output_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(output_path))


def _fail(nb, output_path: Path, cell_index: Optional[int], what: str) -> NotebookCellError:
    _write(nb, output_path)
    where = f"cell {cell_index}" if cell_index is not None else "kernel start-up"
    return NotebookCellError(
        f"notebook failed at {where}: {what}\n(partly executed notebook: {output_path})",
        cell_index, output_path)

