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
