"""End-to-end: the pipeline and the lineage commands on a MySQL (MariaDB) MLMD store.

A throwaway MariaDB server (tests/support/mariadb.py) runs on 127.0.0.1 for this module; the pipeline
runs twice against it with the small e2e settings. Where there is no MariaDB, the tests skip
with the reason, except under CI (CI=true), where a missing server is a failure. Its user has a
known password, read from a file the settings name; the last test looks for it in everything
the runs wrote.
"""
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tabflow.metadata.store import open_store
from tabflow.config import PipelineConfig
from tests.support import mariadb
from tests.support.pipeline_runs import (COMPONENTS, RESOLVERS, RETRAIN, SMALL,
                                         snapshot, with_overrides)

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
# Distinctive enough that any occurrence in a file or in MLMD is a leak.
PASSWORD = "Taxi-e2e-MySQL-pw-5f2b81c9"


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
    with mariadb.running(tmp_path_factory.mktemp("mariadb"), password=PASSWORD) as server:
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
    """`tabflow lineage ... --json` as its own process, pointed at the MySQL store."""
    script = Path(sys.executable).with_name("tabflow")
    command = [str(script)] if script.exists() else [shutil.which("tabflow")]
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


def _console(server, config, *args, **settings):
    command = [sys.executable, "-m", "tabflow.console", *args, "--output-root", config.output_root,
               *server.cli_flags()]
    for key, value in settings.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})


def test_two_runs_a_promote_and_a_gc_at_once_leave_one_consistent_registry(
        two_runs, mysql_server, mysql_config):
    """Two `run`s started together against one MariaDB store and one serving folder, then a
    `promote` and a `gc` while the winner runs. One run holds the store's run lock and trains
    and pushes a new model; the other exits 2 naming it; the promote goes through the serving
    folder's lock; the gc waits for the run lock and re-plans under it. Afterwards MLMD and the
    serving folder agree."""
    from tabflow.metadata import run_lock
    from tabflow.metadata import runs as mlmd_runs
    from tabflow.registry import catalog, consistency, serving
    store = open_store(mysql_config.store)
    runs_before = {r.run_id for r in mlmd_runs.list_runs(store, "taxi")}
    versions_before = set(serving.versions(mysql_config.serving_dir))
    first_version = min(versions_before)
    settings = {**SMALL, "train_steps": SMALL["train_steps"] + 40,
                "max_regression": 1.0, "threshold": 0.5}
    procs = {"run-a": _console(mysql_server, mysql_config, "run", **settings),
             "run-b": _console(mysql_server, mysql_config, "run", **settings)}
    # The promote and the gc start once a run holds the lock: a gc that got there first would
    # refuse both runs (as it should), and there would be no run to race with.
    deadline = time.monotonic() + 600
    while not (run_lock.holder(open_store(mysql_config.store), "taxi") or "").startswith("run "):
        assert time.monotonic() < deadline and all(p.poll() is None or p.returncode == 2
                                                   for p in procs.values())
        time.sleep(0.2)
    procs["promote"] = _console(mysql_server, mysql_config, "promote", str(first_version),
                                "--reason", "concurrency test", "--wait", "900")
    procs["gc"] = _console(mysql_server, mysql_config, "gc", "--keep-runs", "2", "--wait", "1500")
    done = {name: (p.communicate(timeout=1800), p.returncode) for name, p in procs.items()}
    report = "\n".join(f"--- {name} exit {code}\n{out[-1500:]}\n{err[-1500:]}"
                        for name, ((out, err), code) in done.items())

    codes = sorted(done[name][1] for name in ("run-a", "run-b"))
    assert codes == [0, 2], report
    winner = next(name for name in ("run-a", "run-b") if done[name][1] == 0)
    loser = "run-b" if winner == "run-a" else "run-a"
    new_runs = [r for r in mlmd_runs.list_runs(store, "taxi") if r.run_id not in runs_before]
    assert [r.status for r in new_runs] == ["COMPLETE"], report  # the refused run left nothing
    [run] = new_runs
    refusal = done[loser][0][1].strip()
    assert len(refusal.splitlines()) == 1 and "is busy" in refusal, report
    assert run.run_id in refusal, report
    assert run.pushed, report
    assert done["promote"][1] == 0 and done["gc"][1] == 0, report

    # One consistent registry: every alias in models.config is the one MLMD last recorded,
    # every version folder has its push in MLMD, and no lock or journal entry is left.
    assert consistency.check(store, mysql_config.serving_dir) == [], report
    labels = serving.read_labels(mysql_config.serving_dir)
    history = catalog.history(store, mysql_config.serving_dir)
    assert any(e["action"].startswith("promote") and e["version"] == first_version
               for e in history), history
    last = {}
    for event in history:
        last[event["alias"]] = event["version"]
    assert labels == last
    entries = {e.version: e for e in catalog.versions(store, "taxi", mysql_config.serving_dir)}
    for version in set(labels.values()):
        assert entries[version].files_exist, (version, report)
    assert run_lock.holder(open_store(mysql_config.store), "taxi") is None
    # gc ran after the run (it waited for the lock): the run's own artifacts are all there.
    for record in mlmd_runs.run_executions(store, "taxi", run.run_id):
        for artifacts in record.outputs.values():
            for artifact in artifacts:
                assert artifact.state == artifact.LIVE and os.path.exists(artifact.uri), artifact


def _mlmd_dump(store) -> str:
    """Every artifact, execution and context of the store with all their properties."""
    records = [*store.get_artifacts(), *store.get_executions(), *store.get_contexts()]
    assert records
    return "\n".join(str(record) for record in records)


def test_the_password_is_in_no_file_the_runs_wrote_nor_in_mlmd(two_runs, mysql_server,
                                                               mysql_config):
    """Runs as the last test, after every run of this module (in-process and as commands)."""
    assert mysql_server.password == PASSWORD
    secret = PASSWORD.encode()
    folders = {mysql_config.output_root, os.path.dirname(mysql_config.log_file),
               mysql_config.serving_dir}
    files = {path for folder in folders for path in Path(folder).rglob("*") if path.is_file()}
    assert len(files) > 20
    leaks = [str(path) for path in sorted(files) if secret in path.read_bytes()]
    assert leaks == []
    assert PASSWORD not in _mlmd_dump(open_store(mysql_config.store))

    log = Path(mysql_config.log_file)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    # TFX did log its connection config, and the password was masked on its way to the file.
    text = log.read_text()
    assert "Using connection config" in text and 'password: "***"' in text
