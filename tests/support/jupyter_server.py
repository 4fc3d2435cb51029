"""A classic Jupyter Notebook server from this venv on loopback, for tests; always stopped."""
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Mapping, Optional

TOKEN = "taxi-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, pid: int, log: Path):
        self.port, self.pid, self.log = port, pid, log
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {TOKEN}"},
                                         data=b"{}" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={TOKEN}"


@contextlib.contextmanager
def classic_notebook(notebook_dir: Path, workdir: Path, env: Optional[Mapping[str, str]] = None):
    """`jupyter notebook` serving `notebook_dir`; runtime files and its log under `workdir`."""
    port = free_port()
    args = [sys.executable, "-m", "notebook", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--port-retries=0", f"--NotebookApp.token={TOKEN}",
            f"--notebook-dir={notebook_dir}"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log_path = workdir / "notebook-server.log"
    full_env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(workdir / "jupyter-runtime"),
                **(env or {})}
    with open(log_path, "w") as log:
        # Own process group: kernels it started go down with it.
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=full_env,
                                   start_new_session=True)
        server = Server(port, process.pid, log_path)
        try:
            deadline = time.time() + 90
            while True:
                if process.poll() is not None:
                    raise AssertionError(f"the notebook server exited with {process.returncode}:"
                                         f"\n{log_path.read_text()[-3000:]}")
                try:
                    server.api("/api/status")
                    break
                except OSError:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.5)
            yield server
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
