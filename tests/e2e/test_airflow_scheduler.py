"""End-to-end: continuous training under Airflow's own scheduler.

A real Airflow 2.10 scheduler with the LocalExecutor (independent tasks in parallel processes)
on a real PostgreSQL database, both started by the test on loopback from temporary folders. The
pipeline DAG is scheduled on the spans Dataset (airflow_trigger = new_span); the span watcher
DAG announces each new span under the data root. Nobody triggers a run by hand:

1. spans 1 and 2 are there when the scheduler starts: the watcher announces span 2, and its
   run pushes. StatisticsGen fails on its first attempt (TAXI_TEST_FAIL_ONCE, a transient
   fault); Airflow retries it after a short backoff and the run completes;
2. span 3 lands: its run pushes, judged against span 2's model;
3. a drifted span 4 lands (the default dataset's drift column scaled DRIFT_SCALE-fold): its run
   stops at the drift gate, whose task Airflow does not retry although retries are configured.
Asserted on Airflow's database (run types, task tries, dataset events) and on MLMD.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tabflow.metadata.runs import list_runs, run_executions
from tabflow.metadata.store import open_store
from tabflow import contract as C
from tabflow.config import PipelineConfig
from tests.support import postgres
from tests.support.default_dataset import DRIFT_SCALE
from tests.support.pipeline_runs import SMALL, add_span

pytestmark = pytest.mark.e2e

DAG_FILE = "from runners.airflow_dag import DAG, SPAN_WATCH  # noqa: F401\n"
LOCAL_SETTINGS = "import runners.airflow_preload  # noqa: F401\n__all__ = []\n"
RUN_TIMEOUT = 900


class Scheduler:
    def __init__(self, root: Path, database_url: str, config: PipelineConfig):
        self.root, self.database_url, self.config = root, database_url, config
        home = root / "airflow_home"
        (root / "dags").mkdir()
        (root / "dags" / "taxi_dag.py").write_text(DAG_FILE)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("TABFLOW_", "TAXI_", "AIRFLOW"))}
        self.env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database_url,
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_FOLDER=str(root / "dags"),
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT="300",
            AIRFLOW__CORE__DAG_FILE_PROCESSOR_TIMEOUT="300",
            AIRFLOW__CORE__PARALLELISM="4",
            AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL="10",
            AIRFLOW__SCHEDULER__PARSING_PROCESSES="1",
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
            TAXI_OUTPUT_ROOT=config.output_root,
            TAXI_DATA_ROOT=config.data.data_root,
            TAXI_AIRFLOW_TRIGGER="new_span",
            TAXI_AIRFLOW_SPAN_POLL_SECONDS="10",
            # Production defaults are minutes; the behaviour under test is the same.
            TAXI_AIRFLOW_RETRIES="2",
            TAXI_AIRFLOW_RETRY_DELAY_SECONDS="2",
            TAXI_AIRFLOW_MAX_RETRY_DELAY_SECONDS="20",
            TAXI_TEST_FAIL_ONCE=C.STATISTICS_GEN,
            TAXI_MAX_REGRESSION="1.0",
            TAXI_ALERT_ON="failed",
            TAXI_METRICS_TEXTFILE="none")
        for key, value in SMALL.items():
            self.env.setdefault(f"TAXI_{key.upper()}", str(value))
        self.airflow = os.path.join(os.path.dirname(sys.executable), "airflow")
        done = subprocess.run([self.airflow, "db", "migrate"], env=self.env, cwd=root,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        (home / "config").mkdir(exist_ok=True)
        (home / "config" / "airflow_local_settings.py").write_text(LOCAL_SETTINGS)
        self.log = open(root / "scheduler.log", "w")
        self.process = subprocess.Popen([self.airflow, "scheduler"], env=self.env, cwd=root,
                                        stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()

    def query(self, sql: str, *params) -> list:
        import psycopg2
        url = self.database_url.replace("postgresql+psycopg2://", "postgresql://")
        with psycopg2.connect(url) as db, db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def finished_runs(self) -> list:
        return self.query("SELECT run_id, run_type, state FROM dag_run WHERE dag_id = 'taxi' "
                          "AND state IN ('success', 'failed') ORDER BY id")

    def wait_for_runs(self, count: int) -> list:
        deadline = time.monotonic() + RUN_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.tail()
            runs = self.finished_runs()
            if len(runs) >= count:
                return runs
            time.sleep(3)
        pytest.fail(f"no {count} finished DAG runs after {RUN_TIMEOUT} s:\n{self.tail()}")

    def tail(self) -> str:
        self.log.flush()
        return (self.root / "scheduler.log").read_text(errors="replace")[-6000:]

    def tasks(self, run_id: str) -> dict:
        return {task: (state, tries) for task, state, tries in self.query(
            "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = 'taxi' "
            "AND run_id = %s", run_id)}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    root = tmp_path_factory.mktemp("scheduler")
    data_root = root / "data"
    data_root.mkdir()
    add_span(data_root, 1)
    add_span(data_root, 2)
    config = PipelineConfig.from_flat(output_root=str(root / "out"), data_root=str(data_root),
                                      **SMALL)
    started = time.monotonic()
    with postgres.running(root / "pg") as url:
        scheduler = Scheduler(root, url, config)
        try:
            runs = [scheduler.wait_for_runs(1)[-1]]
            add_span(data_root, 3)
            runs.append(scheduler.wait_for_runs(2)[-1])
            add_span(data_root, 4, scale=DRIFT_SCALE)
            runs.append(scheduler.wait_for_runs(3)[-1])
            tasks = [scheduler.tasks(run_id) for run_id, _, _ in runs]
            earlier_tries = scheduler.query(
                "SELECT try_number, state FROM task_instance_history WHERE dag_id = 'taxi' "
                "AND run_id = %s AND task_id = %s ORDER BY try_number", runs[0][0],
                C.STATISTICS_GEN)
            events = scheduler.query(
                "SELECT e.extra FROM dataset_event e JOIN dataset d ON d.id = e.dataset_id "
                "ORDER BY e.id")
            intervals = scheduler.query(
                "SELECT task_id, start_date, end_date FROM task_instance WHERE dag_id = 'taxi' "
                "AND run_id = %s AND start_date IS NOT NULL", runs[0][0])
        finally:
            scheduler.stop()
    print(f"scheduler scenario: {time.monotonic() - started:.0f} s wall")
    return dict(config=config, runs=runs, tasks=tasks, events=events, intervals=intervals,
                earlier_tries=earlier_tries)


def test_the_scheduler_runs_each_new_span_once(scenario):
    runs = scenario["runs"]
    assert [run_type for _, run_type, _ in runs] == ["dataset_triggered"] * 3
    assert [state for _, _, state in runs] == ["success", "success", "failed"]
    assert [extra for (extra,) in scenario["events"]] == [{"span": 2}, {"span": 3}, {"span": 4}]
    # The LocalExecutor ran independent tasks side by side.
    overlapping = [(a, b) for a, a_start, a_end in scenario["intervals"]
                   for b, b_start, b_end in scenario["intervals"]
                   if a < b and a_start < b_end and b_start < a_end]
    assert overlapping, scenario["intervals"]
    store = open_store(scenario["config"].store)
    infos = {info.run_id: info for info in list_runs(store, "taxi")}
    mlmd = [infos[run_id] for run_id, _, _ in runs]
    assert [info.span for info in mlmd] == [2, 3, 4]
    assert [info.pushed for info in mlmd] == [True, True, False]
    assert [info.status for info in mlmd] == ["COMPLETE", "COMPLETE", "FAILED"]


def test_a_transient_fault_is_retried_with_backoff(scenario):
    first = scenario["tasks"][0]
    assert first[C.STATISTICS_GEN] == ("success", 2)
    assert all(state == "success" for state, _ in first.values())
    assert scenario["earlier_tries"] == [(1, "failed")]
    # The retry reused the task's execution (TFX keeps one per task and run) and completed it.
    run_id = scenario["runs"][0][0]
    records = run_executions(open_store(scenario["config"].store), "taxi", run_id)
    assert [r.state for r in records if r.node_id == C.STATISTICS_GEN] == ["COMPLETE"]


def test_the_drift_gate_is_not_retried_and_nothing_downstream_runs(scenario):
    last = scenario["tasks"][2]
    assert last[C.DRIFT_GATE] == ("failed", 1)
    for task in (C.TRANSFORM, C.TRAINER, C.EVALUATOR, C.PUSHER):
        assert last[task][0] == "upstream_failed"
    records = run_executions(open_store(scenario["config"].store), "taxi",
                             scenario["runs"][2][0])
    assert {r.node_id: r.state for r in records}[C.DRIFT_GATE] == "FAILED"
    assert C.TRANSFORM not in {r.node_id for r in records}


def test_the_serving_model_is_span_3s(scenario):
    from tabflow.registry.serving import versions
    config = scenario["config"]
    store = open_store(config.store)
    pushed = {r.node_id: r for r in run_executions(store, "taxi", scenario["runs"][1][0])}
    [artifact] = pushed[C.PUSHER].outputs[C.PUSHED_MODEL_KEY]
    version = artifact.custom_properties[C.PUSHED_VERSION_PROPERTY].string_value
    # Two versions, span 2's and span 3's; the newest is what serves.
    assert versions(config.serving_dir)[-1] == int(version)
    assert len(versions(config.serving_dir)) == 2
