"""Resume after a crash, asserted on MLMD.

- A real Local run killed with SIGKILL inside the Trainer shows as ABANDONED; `run --resume
  --runner beam` restarts it on BeamDagRunner from the Trainer, reusing every upstream output,
  and records the killed run as abandoned (its Trainer execution CANCELED). It runs on the
  shared store with train steps of its own, so only the Trainer and what follows it execute.
- On the shared store, a Local run whose Pusher fails (its serving folder is a file) resumes on
  LocalDagRunner from the Pusher once the folder is fixed: only the Pusher runs again.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tabflow.console import main as console
from tabflow.metadata import runs as mlmd_runs
from tabflow.metadata.store import open_store
from tabflow import contract as C
from tests.support.pipeline_runs import SMALL, with_overrides

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# On the shared store with its own train steps: everything upstream of the Trainer is cached
# from the shared runs, so the run reaches its Trainer quickly, and the Trainer must run.
SETTINGS = {**SMALL, "train_steps": SMALL["train_steps"] + 80}


def _args(output_root):
    args = ["run", "--output-root", str(output_root)]
    for key, value in SETTINGS.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


def _console(args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tabflow.console", *args], cwd=REPO, env=env,
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


def test_killed_run_is_abandoned_and_resumes_from_the_trainer(e2e_config, three_runs, tmp_path,
                                                             capsys):
    config = with_overrides(e2e_config, **SETTINGS)
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

    second = _console(["run", "--resume", run_id, "--runner", "beam",
                       *_args(config.output_root)[1:]],
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = second.communicate(timeout=900)[0]
    assert second.returncode == 0, output[-3000:]
    assert f"resumes: run {run_id} from {C.TRAINER}" in output
    assert f"recorded run {run_id} as ABANDONED" in output

    store = open_store(config.store)
    latest = mlmd_runs.resolve_run(store, config.pipeline_name, mlmd_runs.LATEST)
    assert latest.run_id != run_id and latest.status == "COMPLETE", latest
    assert latest.runner == "beam"
    states = {}
    for record in mlmd_runs.run_executions(store, config.pipeline_name, latest.run_id):
        states.setdefault(record.node_id, []).append(record.state)
    for upstream in (C.EXAMPLE_GEN, C.TRANSFORM, C.TUNER):
        assert "COMPLETE" not in states.get(upstream, []), states
    assert states[C.TRAINER] == ["COMPLETE"] and states[C.EVALUATOR] == ["COMPLETE"]
    assert states[C.PUSHER] == ["COMPLETE"]
    killed = mlmd_runs.resolve_run(store, config.pipeline_name, run_id)
    assert killed.status == "ABANDONED" and killed.components[C.TRAINER] == "CANCELED", killed
    assert (killed.context.custom_properties[C.RUN_ABANDONED_PROPERTY].string_value
            == latest.run_id)


def test_failed_pusher_resumes_on_its_own(retrain_config, three_runs, tmp_path):
    from runners import local_runner
    serving = tmp_path / "serving"
    serving.write_text("a file where the serving folder should be\n")
    config = with_overrides(retrain_config, serving_dir=str(serving))
    with pytest.raises(local_runner.PipelineFailed) as failed:
        local_runner.run(config)
    assert failed.value.node_id == C.PUSHER, str(failed.value)
    store = open_store(config.store)
    failed_run = mlmd_runs.resolve_run(store, config.pipeline_name, failed.value.run_id)
    assert failed_run.status == "FAILED" and failed_run.components[C.PUSHER] == "FAILED"

    serving.unlink()
    result = local_runner.run(config, resume=failed_run.run_id)
    resumed = mlmd_runs.resolve_run(open_store(config.store), config.pipeline_name,
                                    result.run_id)
    assert resumed.status == "COMPLETE" and resumed.runner == "local", resumed
    ran = sorted(node for node, state in resumed.components.items() if state == "COMPLETE")
    assert ran == [C.PUSHER], resumed.components
    [version] = [p for p in serving.iterdir() if p.name.isdigit()]
    assert resumed.pushed and result.pushed == [str(version)]
