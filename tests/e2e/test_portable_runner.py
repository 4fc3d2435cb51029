"""End-to-end: the Beam-heavy components on Beam's portable job API, with real servers.

Beam's Python job service and an external SDK worker pool run as subprocesses on loopback; the
components' Beam jobs are submitted to the job service (beam_preset='portable') and executed by
SDK workers the pool starts. This is the same path a Flink or Spark job server takes, without
the JVM. The whole pipeline runs, so all four Beam components (CsvExampleGen, StatisticsGen,
Transform, Evaluator) go through the servers.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tabflow.config import PipelineConfig
from tests.support.pipeline_runs import COMPONENTS, SMALL

pytestmark = pytest.mark.e2e

BEAM_COMPONENTS = ["CsvExampleGen", "StatisticsGen", "Transform", "Evaluator"]
# Less training than SMALL: the test is about where the Beam work runs, not about the model.
PORTABLE_SMALL = {**SMALL, "train_steps": 150, "tuner_trials": 1, "tuner_train_steps": 20,
                  "threshold": 0.5}
SERVER_START_SECONDS = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {SERVER_START_SECONDS} s:\n"
                       f"{log.read_text()}")


def _start(module: str, args: list, log: Path, env: dict) -> subprocess.Popen:
    # Own process group: the worker pool's SDK workers are its children and must go with it.
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", module, *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def beam_servers(tmp_path):
    """(job endpoint, worker pool endpoint, job service log, worker pool log)."""
    env = dict(os.environ)
    # The worker pool starts SDK workers as `python` from PATH: it must be the venv's python,
    # where the project (and so `modules.transform.preprocessing_fn`) is installed.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # SDK workers are fresh interpreters that never import `modules` (which sets this in the
    # pipeline's process): without it the Evaluator's workers load the model with Keras 3 and
    # fail ("File format not supported"). The project's Dockerfile sets it for its image.
    env["TF_USE_LEGACY_KERAS"] = "1"
    job_port, worker_port = _free_port(), _free_port()
    job_log, pool_log = tmp_path / "job_service.log", tmp_path / "worker_pool.log"
    procs = []
    try:
        procs.append(_start("apache_beam.runners.portability.local_job_service_main",
                            ["--port", str(job_port), "--staging_dir",
                             str(tmp_path / "staging")], job_log, env))
        procs.append(_start("apache_beam.runners.worker.worker_pool_main",
                            ["--service_port", str(worker_port)], pool_log, env))
        _wait_for_port(job_port, procs[0], job_log)
        _wait_for_port(worker_port, procs[1], pool_log)
        yield f"127.0.0.1:{job_port}", f"127.0.0.1:{worker_port}", job_log, pool_log
    finally:
        for proc in procs:
            _stop(proc)


def test_pipeline_beam_work_runs_on_the_portable_job_service(beam_servers, tmp_path):
    job_endpoint, worker_endpoint, job_log, pool_log = beam_servers
    config = PipelineConfig.from_flat(output_root=str(tmp_path / "out"), beam_preset="portable",
                                      portable_job_endpoint=job_endpoint,
                                      portable_environment_type="EXTERNAL",
                                      portable_environment_config=worker_endpoint,
                                      **PORTABLE_SMALL)
    from runners import beam_runner
    result = beam_runner.run(config)

    assert result.run_id.startswith("beam-")
    states = {r.node_id: r.state for r in result.executions if r.node_id in COMPONENTS}
    assert states == {node: "COMPLETE" for node in COMPONENTS}
    assert len(result.pushed) == 1  # the Evaluator, on the portable runner, blessed the model
    transform = next(r for r in result.executions if r.node_id == "Transform")
    graph_uri = transform.outputs["transform_graph"][0].uri
    assert Path(graph_uri, "transform_fn", "saved_model.pb").is_file()
    assert Path(graph_uri, "transformed_metadata", "schema.pbtxt").is_file()
    # Nothing is materialised: training reads the raw splits through the graph.
    assert set(transform.outputs) == {"transform_graph"}


    # The Beam work really went through the servers: a job per Beam component at least, all
    # done, executed by SDK worker processes that the pool started.
    service_log = job_log.read_text()
    done = service_log.count("with state DONE")
    assert service_log.count("Running job") == done >= len(BEAM_COMPONENTS), service_log[-3000:]
    assert "Starting worker with command" in pool_log.read_text()
    log = Path(config.log_file).read_text()
    assert f"--job_endpoint={job_endpoint}" in log
