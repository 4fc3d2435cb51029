"""End-to-end: editing the trainer's code re-runs the Trainer, the Evaluator and the Pusher, and
nothing upstream of them (asserted on MLMD).

The edit is made in a copy of the project, run through the real console (`python -m console
run`) in a subprocess whose imports come from the copy, on the shared store of the three
shared runs. The copy reads the same data and schema files, and the pipeline names its code by
module (`modules.trainer.run_fn`), not by path, so every cache key but the edited code's is
the same as the shared runs'.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tabflow.metadata import runs as mlmd_runs
from tabflow.metadata.store import open_store
from tabflow import contract as C
from tests.support.pipeline_runs import RESOLVERS, SMALL, RETRAIN

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# The taxi's dataset folder is copied with the code (its hooks are code too), its spans are not.
NOT_COPIED = (".git", ".venv", "outputs", "spans", "schema", "tests", "notebooks", "docs",
              "benchmarks", "__pycache__", "*.egg-info")


def test_a_trainer_edit_reruns_trainer_evaluator_and_pusher_only(retrain_config, three_runs,
                                                                 tmp_path):
    project = tmp_path / "project"
    shutil.copytree(REPO, project, ignore=shutil.ignore_patterns(*NOT_COPIED))
    trainer = project / "modules" / "trainer.py"
    trainer.write_text(trainer.read_text() + "\n# An edit: the trainer's code is not the same.\n")

    config = retrain_config
    args = [sys.executable, "-m", "tabflow.console", "run", "--output-root", config.output_root,
            "--data-root", config.data.data_root, "--schema-path", config.data.schema_path]
    for key, value in {**SMALL, **RETRAIN}.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "PYTHONPATH": str(project)}
    proc = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    store = open_store(config.store)
    run = mlmd_runs.resolve_run(store, config.pipeline_name, mlmd_runs.LATEST)
    assert run.run_id not in {snap.run_id for snap in three_runs} and run.status == "COMPLETE"
    ran = {node for node, state in run.components.items()
           if state == "COMPLETE" and node not in RESOLVERS}
    # RunProvenance records the hash of every project file (and the copy has no git commit),
    # so it records this run afresh; no other node but the three may run.
    assert ran == {C.TRAINER, C.EVALUATOR, C.PUSHER, C.PROVENANCE}, run.components
    for node in (C.CSV_CHECK, C.EXAMPLE_GEN, C.STATISTICS_GEN, C.ANOMALY_GATE, C.DRIFT_GATE,
                 C.TRANSFORM, C.TUNER):
        assert run.components[node] == "CACHED", (node, run.components)

    # The Trainer's new model, and the Evaluator judged that model.
    trainer_record, = [r for r in mlmd_runs.run_executions(store, config.pipeline_name,
                                                            run.run_id)
                       if r.node_id == C.TRAINER]
    earlier = [r for r in three_runs[-1].executions if r.node_id == C.TRAINER]
    assert (trainer_record.outputs[C.MODEL_KEY][0].id
            != earlier[0].outputs[C.MODEL_KEY][0].id)
