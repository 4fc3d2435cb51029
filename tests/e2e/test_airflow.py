"""End-to-end: the Airflow DAG (runners/airflow_dag.py) run for real by `airflow dags test`.

Airflow gets a temporary AIRFLOW_HOME with an SQLite database and a dags folder outside the
repository holding the documented one-line DAG file. The run writes to the MLMD store the local
runs of tests/e2e/conftest.py wrote, so both runners' lineage ends up in one store. min_auc=1.0
makes the model unblessable, which shows how the legacy launcher treats the Cond around Pusher.
"""
import json
import os
import subprocess
import sys

import pytest

from pipeline import mlmd_queries
from pipeline.run_history import list_runs
from tests.e2e.conftest import SMALL

pytestmark = pytest.mark.e2e

TASKS = {"CsvExampleGen", "StatisticsGen", "SchemaGen", "ImportSchemaGen", "ExampleValidator",
         "AnomalyGate", "Transform", "Tuner", "Trainer", "latest_blessed_model_resolver",
         "Evaluator", "Pusher"}

DAG_FILE = "from runners.airflow_dag import DAG  # noqa: F401\n"
LOGICAL_DATE = "2026-01-02T00:00:00+00:00"
RUN_ID = f"manual__{LOGICAL_DATE}"


def _airflow_env(tmp_path, e2e_config):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAXI_", "AIRFLOW"))}
    env.update(AIRFLOW_HOME=str(tmp_path / "airflow_home"),
               AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(tmp_path / "dags"),
               # Importing TFX to build the DAG takes ~35 s here; Airflow's default is 30 s.
               AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="300",
               TAXI_OUTPUT_ROOT=e2e_config.output_root,
               TAXI_AIRFLOW_RETRIES="0",
               TAXI_MIN_AUC="1.0")
    for key, value in SMALL.items():
        env.setdefault(f"TAXI_{key.upper()}", str(value))
    return env


def _airflow(env, cwd, *args, timeout=120):
    cli = os.path.join(os.path.dirname(sys.executable), "airflow")
    proc = subprocess.run([cli, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc.stdout


@pytest.fixture(scope="module")
def airflow_run(three_runs, e2e_config, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("airflow")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "taxi_dag.py").write_text(DAG_FILE)
    env = _airflow_env(tmp_path, e2e_config)
    _airflow(env, tmp_path, "db", "migrate")
    # Parses the dags folder (the installed package, not this checkout's cwd) and runs the DAG
    # in one process, recording task instances in Airflow's database.
    _airflow(env, tmp_path, "dags", "test", "taxi", LOGICAL_DATE, timeout=900)
    # Task states as Airflow's database has them, read by a separate process.
    states = json.loads(_airflow(env, tmp_path, "tasks", "states-for-dag-run", "taxi", RUN_ID,
                                 "--output", "json"))
    return {"run_id": RUN_ID, "task_states": {t["task_id"]: t["state"] for t in states}}


def test_every_task_succeeds(airflow_run):
    assert airflow_run["task_states"] == {task: "success" for task in TASKS}


def test_lineage_lands_in_mlmd_under_run_and_component_run_contexts(airflow_run, store):
    run = store.get_context_by_type_and_name("run", f"taxi.{airflow_run['run_id']}")
    assert run is not None
    assert store.get_context_by_type_and_name("pipeline", "taxi") is not None
    executions = store.get_executions_by_context(run.id)
    by_task = {}
    for e in executions:
        by_task.setdefault(e.properties["component_id"].string_value, []).append(e)
    assert set(by_task) == TASKS
    component_runs = {c.name for c in store.get_contexts_by_type("component_run")}
    for task, group in by_task.items():
        assert f"taxi.{airflow_run['run_id']}.{task}" in component_runs
        # The legacy launcher reuses only its own cache, never the local runs' executions,
        # and records the resolver as CACHED.
        expected = "CACHED" if task == "latest_blessed_model_resolver" else "COMPLETE"
        assert [mlmd_queries.STATE_NAMES[e.last_known_state] for e in group] == [expected], task

    events = store.get_events_by_execution_ids([e.id for e in executions])
    outputs = {(ev.execution_id, ev.path.steps[0].key): ev.artifact_id for ev in events
               if ev.type == ev.OUTPUT}
    [trainer] = by_task["Trainer"]
    [model] = store.get_artifacts_by_id([outputs[(trainer.id, "model")]])
    assert store.get_artifact_type_by_id(model.type_id).name == "Model"
    assert os.path.isdir(model.uri)

    # tfx.dsl.Cond is ignored by the legacy launcher: Pusher runs for the unblessed model and
    # its executor records "not pushed".
    [evaluator] = by_task["Evaluator"]
    [blessing] = store.get_artifacts_by_id([outputs[(evaluator.id, "blessing")]])
    assert blessing.custom_properties["blessed"].int_value == 0
    [pusher] = by_task["Pusher"]
    [pushed] = store.get_artifacts_by_id([outputs[(pusher.id, "pushed_model")]])
    assert pushed.custom_properties["pushed"].int_value == 0


def test_local_and_airflow_runs_share_one_store(airflow_run, three_runs, store):
    runs = list_runs(store, "taxi")
    local = [r for r in runs if r.schema == "ir"]
    airflow = [r for r in runs if r.schema == "airflow"]
    assert [r.run_id for r in local[:3]] == [s.run_id for s in three_runs]
    assert all(r.runner == "local" for r in local)
    assert [r.run_id for r in airflow] == [airflow_run["run_id"]]
    assert airflow[0].runner == "airflow"
    assert airflow[0].status == "COMPLETE"
    assert airflow[0].pushed is False
    assert airflow[0].components == {
        task: "CACHED" if task == "latest_blessed_model_resolver" else "COMPLETE"
        for task in TASKS}
    assert local[0].pushed is True
    assert runs.index(airflow[0]) > runs.index(local[2])
