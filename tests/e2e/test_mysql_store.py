"""End-to-end: the pipeline and the lineage commands on a MySQL (MariaDB) MLMD store.

A throwaway MariaDB server (tests/support/mariadb.py) runs on 127.0.0.1 for this module; the pipeline
runs twice against it with the small e2e settings. Where there is no MariaDB, the tests skip
with the reason, except under CI (CI=true), where a missing server is a failure.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from metadata.store import open_store
from pipeline.config import PipelineConfig
from tests.support import mariadb
from tests.support.pipeline_runs import (COMPONENTS, RESOLVERS, RETRAIN, SMALL,
                                         snapshot, with_overrides)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def mysql_server(tmp_path_factory):
    missing = mariadb.missing_binaries()
    if missing:
        reason = (f"MariaDB binaries not found: {', '.join(missing)} (install mariadb-server; "
                  "`./dev test` installs it when run as root on a system with apt-get)")
        if _in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    with mariadb.running(tmp_path_factory.mktemp("mariadb")) as server:
        yield server


@pytest.fixture(scope="module")
def mysql_config(mysql_server, tmp_path_factory) -> PipelineConfig:
    return PipelineConfig.from_flat(output_root=str(tmp_path_factory.mktemp("mysql-e2e")),
                                    **mysql_server.config_fields(), **SMALL)


@pytest.fixture(scope="module")
def two_runs(mysql_config):
    """A first run, then a retrained model judged against it (as tests/e2e/conftest.py)."""
    from runners import local_runner
    retrain = with_overrides(mysql_config, **RETRAIN)
    return [snapshot(config, local_runner.run(config)) for config in (mysql_config, retrain)]


def _states(snap):
    return {node: [r.state for r in records] for node, records in snap.by_node().items()}


def _out(snap, node, key):
    return snap.by_node()[node][0].outputs[key][0]


def _sql(server, query: str) -> str:
    """A query through the server's socket with the mariadb client: a reader that is not MLMD."""
    proc = subprocess.run([mariadb.find_binary("mariadb"), "--no-defaults",
                           f"--socket={server.socket_path}", "--user=root", "--batch",
                           "--skip-column-names", server.database, "-e", query],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _lineage(server, config, *args):
    """`taxi-pipeline lineage ... --json` as its own process, pointed at the MySQL store."""
    script = Path(sys.executable).with_name("taxi-pipeline")
    command = [str(script)] if script.exists() else [shutil.which("taxi-pipeline")]
    proc = subprocess.run(
        [*command, "lineage", *args, "--json", "--output-root", config.output_root,
         *server.cli_flags()],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_first_run_completes_every_component_in_the_mysql_store(two_runs, mysql_server):
    first = two_runs[0]
    states = _states(first)
    for node in COMPONENTS:
        assert states.get(node) == ["COMPLETE"], f"{node}: {states.get(node)}"
    assert set(states) == set(COMPONENTS) | RESOLVERS
    assert len(first.result.pushed) == 1 and os.path.isdir(first.result.pushed[0])
    # What MLMD read back is what the MariaDB tables hold.
    assert _sql(mysql_server, "SELECT name FROM Context WHERE name = "
                              f"'{first.run_id}'") == first.run_id
    executions = int(_sql(mysql_server, "SELECT COUNT(*) FROM Execution"))
    assert executions == sum(len(s.executions) for s in two_runs)


def test_nothing_went_to_an_sqlite_store(two_runs, mysql_config):
    assert not os.path.exists(mysql_config.store.metadata_path)
    sqlite_files = [p for p in Path(mysql_config.output_root).rglob("*")
                    if p.suffix in (".sqlite", ".db")]
    assert sqlite_files == []


def test_retrained_run_reuses_the_data_and_tuning_from_mysql(two_runs, mysql_config):
    first, second = two_runs
    store = open_store(mysql_config.store)
    states = _states(second)
    executed = {"RunProvenance", "Trainer", "Evaluator", "Pusher"}
    for node in executed:
        assert states[node] == ["COMPLETE"], f"{node}: {states[node]}"
    for node in set(COMPONENTS) - executed:
        assert states[node] == ["CACHED"], f"{node}: {states[node]}"
    assert _out(second, "Trainer", "model").id != _out(first, "Trainer", "model").id
    assert len(store.get_artifacts_by_type("Model")) == 2


def test_lineage_trace_latest_pushed_answers_from_mysql(two_runs, mysql_server, mysql_config):
    first, second = two_runs
    t = _lineage(mysql_server, mysql_config, "trace", "latest-pushed")
    pushed = _out(second, "Pusher", "pushed_model")
    assert t["push"]["id"] == pushed.id and t["push"]["run"] == second.run_id
    assert t["push"]["destination"] == second.result.pushed[0]
    model = _out(second, "Trainer", "model")
    assert t["model"]["id"] == model.id != _out(first, "Trainer", "model").id
    assert t["model"]["run"] == second.run_id and t["model"]["reuse_count"] == 0
    examples = _out(first, "CsvExampleGen", "examples")
    assert t["data"]["id"] == examples.id
    assert t["data"]["span"] == examples.custom_properties["span"].int_value >= 1
    assert sum(t["data"]["row_counts"].values()) > 0
    assert t["blessing"]["id"] == _out(second, "Evaluator", "blessing").id
    assert t["blessing"]["blessed"] is True
    assert t["blessing"]["baseline_model_id"] == _out(first, "Trainer", "model").id
    assert t["provenance"]["runner"] == "local"


def test_lineage_trace_of_the_first_push_by_id(two_runs, mysql_server, mysql_config):
    first = two_runs[0]
    pushed = _out(first, "Pusher", "pushed_model")
    t = _lineage(mysql_server, mysql_config, "trace", str(pushed.id))
    assert t["push"]["id"] == pushed.id and t["push"]["run"] == first.run_id
    assert t["model"]["id"] == _out(first, "Trainer", "model").id
    assert t["hyperparameters"]["id"] == _out(first, "Tuner", "best_hyperparameters").id
    assert t["blessing"]["id"] == _out(first, "Evaluator", "blessing").id


def test_lineage_runs_lists_both_runs_from_mysql(two_runs, mysql_server, mysql_config):
    rows = _lineage(mysql_server, mysql_config, "runs")
    assert [r["run_id"] for r in rows] == [s.run_id for s in two_runs]
    span = _out(two_runs[0], "CsvExampleGen", "examples").custom_properties["span"].int_value
    for row, snap in zip(rows, two_runs):
        assert row["runner"] == "local" and row["span"] == span
        assert row["pushed"] is True, row  # both runs' own Pushers executed
        assert row["components"]["Trainer"] == _states(snap)["Trainer"][0]


def test_two_runs_pushing_at_once_get_two_versions_each_recorded(two_runs, mysql_server,
                                                                 mysql_config):
    """Two `taxi-pipeline run` processes on one MariaDB store, started together, each training
    its own model (everything upstream is cached) and pushing it into one serving folder."""
    from registry import serving
    before = set(serving.versions(mysql_config.serving_dir))
    procs = []
    for extra_steps in (40, 60):
        args = [sys.executable, "-m", "console", "run", "--output-root",
                mysql_config.output_root, *mysql_server.cli_flags()]
        settings = {**SMALL, "train_steps": SMALL["train_steps"] + extra_steps,
                    "max_auc_regression": 1.0, "min_auc": 0.5}
        for key, value in settings.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        procs.append(subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True,
                                      env={**os.environ, "PYTHONPATH": str(REPO)}))
    outputs = [p.communicate(timeout=1500)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-2000:] for o in outputs)

    new = sorted(set(serving.versions(mysql_config.serving_dir)) - before)
    assert len(new) == 2, new
    store = open_store(mysql_config.store)
    pushes = [a for a in store.get_artifacts_by_type("PushedModel")
              if a.custom_properties["pushed"].int_value == 1
              and int(a.custom_properties["pushed_version"].string_value) in new]
    assert sorted(int(a.custom_properties["pushed_version"].string_value)
                  for a in pushes) == new
    records = serving.records(mysql_config.serving_dir)
    models = set()
    for pushed in pushes:
        version = int(pushed.custom_properties["pushed_version"].string_value)
        assert pushed.custom_properties["pushed_destination"].string_value == os.path.join(
            mysql_config.serving_dir, str(version))
        [pusher_event] = [e for e in store.get_events_by_artifact_ids([pushed.id])
                          if e.type == e.OUTPUT]
        [model_event] = [e for e in store.get_events_by_execution_ids([pusher_event.execution_id])
                         if e.type == e.INPUT and e.path.steps[0].key == "model"]
        [model] = store.get_artifacts_by_id([model_event.artifact_id])
        assert records[version].model_uri == model.uri  # each version holds its own run's model
        models.add(model.id)
    assert len(models) == 2
