"""A real run killed with SIGKILL inside the Trainer shows as ABANDONED, and `run --resume`
restarts it from the Trainer, reusing every upstream output (asserted on MLMD)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console import main as console
from metadata import runs as mlmd_runs
from metadata.store import open_store
from pipeline import contract as C
from pipeline.config import PipelineConfig
from tests.support.pipeline_runs import SMALL

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# One tuner trial keeps the run short; the Trainer's steps leave time to see it RUNNING.
SETTINGS = {**SMALL, "tuner_trials": 1}


def _args(output_root):
    args = ["run", "--output-root", str(output_root)]
    for key, value in SETTINGS.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


def _console(args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "console", *args], cwd=REPO, env=env,
                            text=True, **kwargs)


def _trainer_running(config):
    try:
        runs = mlmd_runs.list_runs(open_store(config.store), config.pipeline_name)
    except Exception:  # the store is not there yet, or locked by the writer for a moment
        return None
    for run in runs:
        if run.components.get(C.TRAINER) == "RUNNING":
            return run.run_id
    return None


def test_killed_run_is_abandoned_and_resumes_from_the_trainer(tmp_path, capsys):
    config = PipelineConfig.from_flat(output_root=str(tmp_path / "out"), **SETTINGS)
    log = open(tmp_path / "first.txt", "w")
    first = _console(_args(config.output_root), stdout=log, stderr=subprocess.STDOUT,
                     start_new_session=True)
    deadline = time.monotonic() + 900
    run_id = None
    while run_id is None:
        assert first.poll() is None, (tmp_path / "first.txt").read_text()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.5)
        run_id = _trainer_running(config)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()

    capsys.readouterr()
    assert console.main(["lineage", "runs", "--json", "--output-root", config.output_root]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["run_id"]: row["status"] for row in rows}[run_id] == "ABANDONED"

    second = _console(["run", "--resume", run_id, *_args(config.output_root)[1:]],
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = second.communicate(timeout=900)[0]
    assert second.returncode == 0, output[-3000:]
    assert f"resumes: run {run_id} from {C.TRAINER}" in output

    store = open_store(config.store)
    latest = mlmd_runs.resolve_run(store, config.pipeline_name, mlmd_runs.LATEST)
    assert latest.run_id != run_id and latest.status == "COMPLETE", latest
    states = {}
    for record in mlmd_runs.run_executions(store, config.pipeline_name, latest.run_id):
        states.setdefault(record.node_id, []).append(record.state)
    for upstream in (C.EXAMPLE_GEN, C.TRANSFORM, C.TUNER):
        assert "COMPLETE" not in states.get(upstream, []), states
    assert states[C.TRAINER] == ["COMPLETE"]
    assert latest.pushed
    assert mlmd_runs.resolve_run(store, config.pipeline_name, run_id).status == "ABANDONED"
