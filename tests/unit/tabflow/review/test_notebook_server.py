"""The README's notebook command starts: the classic Notebook server from the venv serves the
notebooks and starts a kernel on the venv's interpreter (loopback only, stopped afterwards)."""
import sys
import time
from pathlib import Path

from tests.support.jupyter_server import classic_notebook

REPO = Path(__file__).resolve().parents[4]


def kernel_command(server_pid: int, timeout: float = 60):
    """The command line of the kernel process the server started."""
    import psutil
    deadline = time.time() + timeout
    while time.time() < deadline:
        for child in psutil.Process(server_pid).children(recursive=True):
            try:
                command = child.cmdline()
            except psutil.Error:
                continue
            if "ipykernel_launcher" in command:
                return command
        time.sleep(0.5)
    raise AssertionError("the notebook server started no kernel process")


def test_classic_notebook_serves_the_notebooks_and_runs_a_venv_kernel(tmp_path):
    with classic_notebook(REPO / "notebooks", tmp_path) as server:
        names = {item["name"] for item in server.api("/api/contents")["content"]}
        assert {"interactive_walkthrough.ipynb", "model_review.ipynb"} <= names
        extensions = server.api("/api/config/notebook")["load_extensions"]
        # ./dev's set-up enables TFMA's widget extension beside the ipywidgets one.
        assert extensions.get("tensorflow_model_analysis/extension") is True
        kernel = server.api("/api/kernels", method="POST")
        try:
            assert kernel["execution_state"] in ("starting", "idle", "busy")
            # The default kernelspec says "python"; jupyter_client runs it as the server's
            # own interpreter, so notebooks get the venv (TFX, the project's packages).
            assert kernel_command(server.pid)[0] == sys.executable
        finally:
            server.api(f"/api/kernels/{kernel['id']}", method="DELETE")
