"""The README's notebook command starts: the classic Notebook server from the venv serves the
notebooks and starts a kernel on the venv's interpreter (loopback only, stopped afterwards)."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOKEN = "taxi-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port: int, path: str, method: str = "GET"):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     headers={"Authorization": f"token {TOKEN}"},
                                     data=b"{}" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


@pytest.fixture
def notebook_server(tmp_path):
    port = free_port()
    args = [sys.executable, "-m", "notebook", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", f"--NotebookApp.token={TOKEN}",
            f"--notebook-dir={REPO / 'notebooks'}"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = open(tmp_path / "notebook.log", "w")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    server = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 90
        while True:
            if server.poll() is not None:
                raise AssertionError(f"the notebook server exited with {server.returncode}:\n"
                                     + (tmp_path / "notebook.log").read_text()[-3000:])
            try:
                api(port, "/api/status")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        yield port, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


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


def test_classic_notebook_serves_the_notebooks_and_runs_a_venv_kernel(notebook_server):
    notebook_server, server_pid = notebook_server
    listing = api(notebook_server, "/api/contents")
    names = {item["name"] for item in listing["content"]}
    assert {"interactive_walkthrough.ipynb", "model_review.ipynb"} <= names
    kernel = api(notebook_server, "/api/kernels", method="POST")
    try:
        assert kernel["execution_state"] in ("starting", "idle", "busy")
        # The default kernelspec says "python"; jupyter_client runs it as the server's own
        # interpreter, so notebooks get the venv (TFX, the project's packages), not a system
        # Python.
        assert kernel_command(server_pid)[0] == sys.executable
    finally:
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{notebook_server}/api/kernels/{kernel['id']}", method="DELETE",
            headers={"Authorization": f"token {TOKEN}"}), timeout=10)
