"""End-to-end: the Airflow DAG (runners/airflow_dag.py) run for real by `airflow dags test`.

Airflow gets one temporary AIRFLOW_HOME for the module (SQLite database migrated once) and a dags
folder outside the repository holding the documented one-line DAG file. Its runs write to a copy
of the MLMD store the local runs of tests/e2e/conftest.py wrote, so both runners' lineage ends up
in one store, while the session's own store and serving directory stay as the other e2e files
expect them (no Airflow-blessed model becomes their baseline).

Two DAG runs, in order:
1. first: every task executes (the legacy launcher never reuses Local runs' executions) and
   blesses its model (max_regression=1.0, so the bless does not hinge on how close two
   trainings of the same data land);
2. rerun with unchanged inputs: Trainer is cached and its model is the latest blessed one; the
   baseline resolver (pipeline/baseline.py) never hands a model over as its own baseline, so
   the rerun judges nothing anew and pushes nothing.
3. broken data (a third of the slice column's values are text) for the same span: CsvExampleGen
   reads the new file (its output must not clash with the first run's by name), AnomalyGate's
   task fails and its failure callback notifies.
The DAG's callbacks notify an HTTP receiver on loopback after each run and write the run's
Prometheus textfile. Each `airflow dags test` spends about a minute starting and importing TFX
here.
4. a model that cannot be blessed (threshold 0.9999): the Cond around Pusher holds under Airflow
   too (runners/airflow_launcher.py), so Pusher's task is skipped and records nothing.
"""
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict

import pytest
from ml_metadata.proto.metadata_store_pb2 import Event

from tabflow.metadata.graph import STATE_NAMES
from tabflow.metadata.runs import list_runs
from tabflow.metadata.store import open_store
from tabflow.config import PipelineConfig
from tabflow.alerts.channels import WEBHOOK_URL_VARIABLE
from tests.support.default_dataset import facts
from tests.support.pipeline_runs import COMPONENTS, RESOLVERS, SMALL
from tests.support.receivers import http_receiver

pytestmark = pytest.mark.e2e

TASKS = [*COMPONENTS, *sorted(RESOLVERS)]
DAG_FILE = "from runners.airflow_dag import DAG  # noqa: F401\n"
FIRST, RERUN = "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"


@dataclass
class AirflowRun:
    run_id: str
    task_states: Dict[str, str]  # as Airflow's database has them


class Airflow:
    """One AIRFLOW_HOME and Airflow database for every DAG run of this module."""

    def __init__(self, root, output_root: str, metadata_path: str):
        self.root = root
        (root / "dags").mkdir()
        (root / "dags" / "taxi_dag.py").write_text(DAG_FILE)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TABFLOW_", "TAXI_", "AIRFLOW"))}
        self.env.update(
            AIRFLOW_HOME=str(root / "airflow_home"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_FOLDER=str(root / "dags"),
            # Importing TFX to build the DAG takes ~35 s here; Airflow's default is 30 s.
            AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="300",
            TAXI_OUTPUT_ROOT=output_root,
            TAXI_METADATA_PATH=metadata_path,
            TAXI_AIRFLOW_RETRIES="0",
            TAXI_MAX_REGRESSION="1.0")
        for key, value in SMALL.items():
            self.env.setdefault(f"TAXI_{key.upper()}", str(value))
        self.cli("db", "migrate")

    def cli(self, *args, timeout=120, check=True) -> str:
        airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
        proc = subprocess.run([airflow, *args], env=self.env, cwd=self.root,
                              capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0 or not check, proc.stdout[-3000:] + proc.stderr[-5000:]
        return proc.stdout

    def run_dag(self, logical_date: str, check: bool = True, **env) -> AirflowRun:
        # Parses the dags folder (the installed package, not this checkout's cwd) and runs the
        # DAG in one process, recording task instances in Airflow's database.
        saved = dict(self.env)
        self.env.update(env)
        try:
            # A run whose task fails for good exits non-zero; its task states tell why.
            self.cli("dags", "test", "taxi", logical_date, timeout=900, check=check)
        finally:
            self.env = saved
        run_id = f"manual__{logical_date}"
        # Task states as Airflow's database has them, read by a separate process.
        states = json.loads(self.cli("tasks", "states-for-dag-run", "taxi", run_id,
                                     "--output", "json"))
        return AirflowRun(run_id, {t["task_id"]: t["state"] for t in states})


@pytest.fixture(scope="module")
def airflow_config(three_runs, e2e_config, tmp_path_factory) -> PipelineConfig:
    root = tmp_path_factory.mktemp("airflow")
    metadata_path = str(root / "metadata.sqlite")
    shutil.copyfile(e2e_config.store.metadata_path, metadata_path)
    return PipelineConfig.from_flat(output_root=str(root / "outputs"), metadata_path=metadata_path,
                                    **SMALL)


def _lineage_file(config) -> str:
    return os.path.join(config.output_root, "openlineage.jsonl")


def _lineage_events(config, run_id) -> list:
    with open(_lineage_file(config)) as f:
        events = [json.loads(line) for line in f]
    mine = [e for e in events
            if e["run"]["facets"].get("tabflow_execution", {}).get("pipelineRunId") == run_id]
    parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in mine}
    return [e for e in events if e in mine or e["run"]["runId"] in parents]


@pytest.fixture(scope="module")
def receiver():
    """An HTTP receiver on loopback the DAG's callbacks notify (generic JSON bodies)."""
    with http_receiver() as server:
        yield server


@pytest.fixture(scope="module")
def airflow(airflow_config, receiver, tmp_path_factory) -> Airflow:
    airflow = Airflow(tmp_path_factory.mktemp("airflow_home"), airflow_config.output_root,
                      airflow_config.store.metadata_path)
    airflow.env.update({WEBHOOK_URL_VARIABLE: receiver.url, "TAXI_WEBHOOK_FORMAT": "json",
                        "TAXI_ALERT_ON": "failed stopped not_blessed pushed unchanged",
                        "TAXI_OPENLINEAGE_FILE": _lineage_file(airflow_config)})
    return airflow


@pytest.fixture(scope="module")
def first_run(airflow) -> AirflowRun:
    return airflow.run_dag(FIRST)


@pytest.fixture(scope="module")
def rerun(airflow, first_run) -> AirflowRun:
    return airflow.run_dag(RERUN)


@pytest.fixture(scope="module")
def airflow_store(airflow_config):
    return open_store(airflow_config.store)


def _executions_by_task(store, run: AirflowRun):
    context = store.get_context_by_type_and_name("run", f"taxi.{run.run_id}")
    assert context is not None
    by_task = {}
    for e in store.get_executions_by_context(context.id):
        by_task.setdefault(e.properties["component_id"].string_value, []).append(e)
    return by_task


def _artifact(store, execution, key, event_type):
    [artifact_id] = [ev.artifact_id for ev in store.get_events_by_execution_ids([execution.id])
                     if ev.type == event_type and ev.path.steps[0].key == key]
    [artifact] = store.get_artifacts_by_id([artifact_id])
    return artifact


def _type_name(store, artifact) -> str:
    return store.get_artifact_types_by_id([artifact.type_id])[0].name


def _states(executions) -> list:
    return [STATE_NAMES[e.last_known_state] for e in executions]


def test_every_task_succeeds(first_run):
    assert first_run.task_states == {task: "success" for task in TASKS}


def test_lineage_lands_in_mlmd_under_run_and_component_run_contexts(first_run, airflow_store):
    store = airflow_store
    assert store.get_context_by_type_and_name("pipeline", "taxi") is not None
    by_task = _executions_by_task(store, first_run)
    assert set(by_task) == set(TASKS)
    component_runs = {c.name for c in store.get_contexts_by_type("component_run")}
    for task, group in by_task.items():
        assert f"taxi.{first_run.run_id}.{task}" in component_runs
        # The legacy launcher reuses only its own cache, never the local runs' executions,
        # and records the resolver as CACHED.
        assert _states(group) == ["CACHED" if task in RESOLVERS else "COMPLETE"], task

    [trainer] = by_task["Trainer"]
    model = _artifact(store, trainer, "model", Event.OUTPUT)
    assert _type_name(store, model) == "Model"
    assert os.path.isdir(model.uri)
    [provenance] = by_task["RunProvenance"]
    record = _artifact(store, provenance, "provenance", Event.OUTPUT)
    assert _type_name(store, record) == "pipeline.RunProvenance"
    assert record.custom_properties["runner"].string_value == "airflow"
    [gate] = by_task["AnomalyGate"]
    assert _type_name(store, _artifact(store, gate, "verdict", Event.OUTPUT)) == \
        "pipeline.DataGateVerdict"
    [pusher] = by_task["Pusher"]
    assert _artifact(store, pusher, "pushed_model",
                     Event.OUTPUT).custom_properties["pushed"].int_value == 1


def test_rerun_with_unchanged_inputs_judges_no_model_against_itself(rerun, first_run,
                                                                   airflow_store):
    store = airflow_store
    assert rerun.task_states == {task: "success" for task in TASKS}
    by_task = _executions_by_task(store, rerun)
    assert _states(by_task["Trainer"]) == ["CACHED"]
    [first_trainer] = _executions_by_task(store, first_run)["Trainer"]
    first_model = _artifact(store, first_trainer, "model", Event.OUTPUT)
    # Whatever the legacy launcher made of the Evaluator, the candidate never arrived as its
    # own baseline.
    for evaluator in by_task["Evaluator"]:
        for event in store.get_events_by_execution_ids([evaluator.id]):
            keys = [s.key for s in event.path.steps if s.HasField("key")]
            if event.type == Event.INPUT and event.artifact_id == first_model.id:
                assert "baseline_model" not in keys, keys


def test_local_and_airflow_runs_share_one_store(first_run, rerun, three_runs, airflow_store):
    runs = list_runs(airflow_store, "taxi")
    local = [r for r in runs if r.schema == "ir"]
    airflow_runs = [r for r in runs if r.schema == "airflow"]
    assert [r.run_id for r in local[:3]] == [s.run_id for s in three_runs]
    assert all(r.runner == "local" for r in local)
    assert local[0].pushed is True
    assert [r.run_id for r in airflow_runs] == [first_run.run_id, rerun.run_id]
    assert all(r.runner == "airflow" and r.status == "COMPLETE" for r in airflow_runs)
    # The rerun's model already serves: it is not pushed again.
    assert [r.pushed for r in airflow_runs] == [True, False]
    assert airflow_runs[0].components == {
        task: "CACHED" if task in RESOLVERS else "COMPLETE" for task in TASKS}
    assert runs.index(airflow_runs[0]) > runs.index(local[2])


def test_dag_callbacks_notify_and_write_metrics(first_run, rerun, receiver, airflow_config,
                                                airflow_store):
    """The DAG's success callback, run by Airflow at the end of each DAG run, sends the run's
    outcome as MLMD records it and writes the run's Prometheus textfile."""
    bodies = {post["body"]["run_id"]: post["body"] for post in receiver.received}
    assert set(bodies) == {first_run.run_id, rerun.run_id}
    first = bodies[first_run.run_id]
    assert first["kind"] == "pushed" and first["runner"] == "airflow"
    [pushed] = [r for r in list_runs(airflow_store, "taxi") if r.run_id == first_run.run_id]
    assert pushed.pushed
    assert bodies[rerun.run_id]["kind"] != "pushed"  # the rerun pushed nothing new

    from prometheus_client.parser import text_string_to_metric_families
    text = open(os.path.join(airflow_config.output_root, "metrics", "taxi.prom")).read()
    info = [s for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == "tabflow_run_info"]
    assert [s.labels["run_id"] for s in info] == [rerun.run_id]
    assert info[0].labels["runner"] == "airflow"

    # The same callback sent the run's OpenLineage events: each task's START and COMPLETE
    # between the DAG run's own.
    from tests.support.openlineage_check import check_run_event
    events = _lineage_events(airflow_config, first_run.run_id)
    for event in events:
        check_run_event(event)
    tasks = {e["job"]["name"].split(".", 1)[1] for e in events if "." in e["job"]["name"]}
    assert {"CsvExampleGen", "Trainer", "Evaluator", "Pusher"} <= tasks
    assert [events[0]["eventType"], events[-1]["eventType"]] == ["START", "COMPLETE"]
    assert {e["run"]["facets"]["tabflow_execution"]["runner"] for e in events[1:-1]} == {"airflow"}


@pytest.fixture(scope="module")
def gate_run(airflow, rerun, receiver, e2e_config, tmp_path_factory):
    """A DAG run on broken data (a third of the slice column is text), with retries configured:
    (the run, the notifications it sent)."""
    from tests.support.pipeline_runs import span_csv, write_broken_column
    data = tmp_path_factory.mktemp("broken")
    span = max(int(p.name.split("-")[1]) for p in
               (p for p in os.scandir(e2e_config.data.data_root) if p.name.startswith("span-")))
    (data / f"span-{span}").mkdir()
    write_broken_column(span_csv(e2e_config, span), data / f"span-{span}" / "data.csv")
    before = len(receiver.received)
    # Retries are configured, and not used: the gate's verdict on the data is final.
    run = airflow.run_dag("2026-01-04T00:00:00+00:00", check=False, TAXI_DATA_ROOT=str(data),
                          TAXI_AIRFLOW_RETRIES="2", TAXI_AIRFLOW_RETRY_DELAY_SECONDS="1")
    return run, receiver.received[before:]


def test_a_gate_failure_notifies_from_the_task_callback(gate_run, airflow, airflow_config):
    """AnomalyGate's task fails once, not retried; its failure callback sends "stopped at the
    data gate" with the anomaly; MLMD records the execution and the run FAILED."""
    run, posts = gate_run
    assert run.task_states["AnomalyGate"] == "failed", run.task_states
    [body] = [post["body"] for post in posts]
    assert body["run_id"] == run.run_id
    assert body["kind"] == "stopped" and body["facts"]["gate"] == "data"
    assert body["facts"]["component"] == "AnomalyGate"
    broken = facts().slice_column
    assert any(broken in reason for reason in body["reasons"])
    # The callback's OpenLineage events say FAIL, with the anomaly.
    events = _lineage_events(airflow_config, body["run_id"])
    gate = [e for e in events if e["job"]["name"] == "taxi.AnomalyGate"]
    assert [e["eventType"] for e in gate] == ["START", "FAIL"]
    assert broken in gate[-1]["run"]["facets"]["errorMessage"]["message"]
    assert events[-1]["eventType"] == "FAIL" and events[-1]["job"]["name"] == "taxi"

    store = open_store(airflow_config.store)
    by_task = _executions_by_task(store, run)
    assert _states(by_task["AnomalyGate"]) == ["FAILED"]
    [info] = [r for r in list_runs(store, "taxi") if r.run_id == run.run_id]
    assert info.status == "FAILED" and info.components["AnomalyGate"] == "FAILED"
    assert _try_number(airflow, run.run_id, "AnomalyGate") == 1


def _try_number(airflow, run_id, task_id) -> int:
    import sqlite3
    with sqlite3.connect(airflow.root / "airflow_home" / "airflow.db") as db:
        [(tries,)] = db.execute("SELECT try_number FROM task_instance WHERE dag_id = 'taxi' "
                                "AND run_id = ? AND task_id = ?", (run_id, task_id)).fetchall()
    return tries


@pytest.fixture(scope="module")
def unblessed_run(airflow, rerun, receiver):
    """A model that cannot be blessed (threshold 0.9999): (the run, the notifications)."""
    before = len(receiver.received)
    run = airflow.run_dag("2026-01-05T00:00:00+00:00", TAXI_THRESHOLD="0.9999")
    return run, receiver.received[before:]


def test_an_unblessed_model_skips_the_pusher(unblessed_run, airflow_config):
    run, posts = unblessed_run
    assert run.task_states == {task: "skipped" if task == "Pusher" else "success"
                               for task in TASKS}
    store = open_store(airflow_config.store)
    by_task = _executions_by_task(store, run)
    assert "Pusher" not in by_task and _states(by_task["Evaluator"]) == ["COMPLETE"]
    [blessing_event] = [e for e in store.get_events_by_execution_ids([by_task["Evaluator"][0].id])
                        if e.type == Event.OUTPUT and e.path.steps[0].key == "blessing"]
    [blessing] = store.get_artifacts_by_id([blessing_event.artifact_id])
    assert blessing.custom_properties["blessed"].int_value == 0
    [info] = [r for r in list_runs(store, "taxi") if r.run_id == run.run_id]
    assert info.status == "COMPLETE" and info.pushed is False
    [body] = [post["body"] for post in posts]
    assert body["kind"] == "not_blessed" and body["run_id"] == run.run_id


def test_the_same_outcomes_as_local_and_beam(first_run, unblessed_run, gate_run, airflow_config,
                                             e2e_config, three_runs, strict_run, drifted_run,
                                             beam_runs):
    """Blessed, unblessed and stopped at the data gate, on Local, Beam (BeamDagRunner's own
    path) and Airflow: the same run status, component outcomes, published artifacts and push
    (tests/support/parity.py says what is compared and what is not)."""
    from tests.support.parity import outcome
    beam_config, beam_ids, _ = beam_runs
    runs = {
        "local": (e2e_config, [three_runs[0].run_id, strict_run.run_id, drifted_run]),
        "beam": (beam_config, beam_ids),
        "airflow": (airflow_config, [first_run.run_id, unblessed_run[0].run_id,
                                     gate_run[0].run_id]),
    }
    table = {runner: [outcome(open_store(config.store), "taxi", run_id) for run_id in ids]
             for runner, (config, ids) in runs.items()}
    for name, index in (("blessed", 0), ("unblessed", 1), ("gate failure", 2)):
        local = table["local"][index]
        for runner in ("beam", "airflow"):
            assert table[runner][index] == local, (name, runner)
    blessed, unblessed, stopped = table["local"]
    assert blessed["pushed"] and blessed["components"]["Pusher"] == "succeeded"
    assert not unblessed["pushed"] and "Pusher" not in unblessed["components"]
    assert stopped["status"] == "FAILED" and stopped["components"]["AnomalyGate"] == "failed"
    assert "Trainer" not in stopped["components"]
