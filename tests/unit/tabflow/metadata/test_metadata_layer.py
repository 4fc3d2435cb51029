"""The metadata layer (metadata/) on real MLMD stores written as the runners write them."""
import sqlite3
import subprocess
import sys
from types import SimpleNamespace

import pytest

from tabflow.metadata import runs
from tabflow.metadata.errors import NotFound, StoreError
from tabflow.metadata.store import connection_config, open_store, store_label
from tabflow.config import StoreConfig
from tests.support.mlmd_records import NODES, S, sqlite_writer


def store_cfg(path, **mysql):
    return StoreConfig(metadata_path=str(path), **mysql)


@pytest.fixture
def writer(tmp_path):
    return sqlite_writer(tmp_path / "metadata.sqlite")


def all_(state):
    return {node: state for node in NODES}


def test_missing_store_is_named_and_not_created(tmp_path):
    path = tmp_path / "nope" / "metadata.sqlite"
    with pytest.raises(StoreError, match=f"no MLMD store at {path}: run the pipeline first"):
        open_store(store_cfg(path))
    assert not path.exists() and not path.parent.exists()


def test_corrupt_file_is_named(tmp_path):
    path = tmp_path / "metadata.sqlite"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(StoreError, match=f"{path} is not an SQLite database"):
        open_store(store_cfg(path))


def test_sqlite_file_without_mlmd_tables_is_not_changed(tmp_path):
    path = tmp_path / "other.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE t (a)")
    connection.commit()
    connection.close()
    with pytest.raises(StoreError, match="without ML Metadata's tables"):
        open_store(store_cfg(path))
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("t",)]  # read-only: no MLMD schema was written into it


def test_unreachable_mysql_is_named():
    cfg = store_cfg("", mysql_host="127.0.0.1", mysql_port=1, mysql_database="mlmd")
    with pytest.raises(StoreError, match="mysql://127.0.0.1:1/mlmd"):
        open_store(cfg)


def test_connection_config_is_read_only_for_readers(tmp_path):
    from ml_metadata.proto import metadata_store_pb2 as pb
    cfg = store_cfg(tmp_path / "m.sqlite")
    assert connection_config(cfg, create=False).sqlite.connection_mode == \
        pb.SqliteMetadataSourceConfig.READONLY
    assert connection_config(cfg, create=True).sqlite.connection_mode == \
        pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    assert store_label(store_cfg("", mysql_host="db", mysql_port=3307,
                                 mysql_database="x")) == "mysql://db:3307/x"
    assert not (tmp_path / "m.sqlite").exists()


def test_resolve_latest_previous_and_ids_across_schemas(writer):
    writer.ir_run("local-2026-11-21T08:00:00.000000", all_(S.COMPLETE), pushed=True, span=1)
    writer.airflow_run("manual__2026-11-21T09:00:00+00:00", all_(S.CACHED))
    assert runs.resolve_run(writer.store, "taxi", "latest").run_id == \
        "manual__2026-11-21T09:00:00+00:00"
    previous = runs.resolve_run(writer.store, "taxi", "previous")
    assert previous.run_id == "local-2026-11-21T08:00:00.000000"
    assert previous.pushed and previous.span == 1 and previous.status == "COMPLETE"
    assert runs.resolve_run(writer.store, "taxi", "manual__2026-11-21T09:00:00+00:00").schema \
        == "airflow"
    with pytest.raises(NotFound, match="no run 'nope'"):
        runs.resolve_run(writer.store, "taxi", "nope")
    with pytest.raises(NotFound, match="not a run of pipeline 'taxi_v2'"):
        runs.resolve_run(writer.store, "taxi_v2", "local-2026-11-21T08:00:00.000000")


def test_a_run_of_another_pipeline_is_not_resolved(writer):
    writer.ir_run("local-2026-11-21T08:00:00.000000", all_(S.COMPLETE), pipeline="taxi_v2")
    writer.ir_run("local-2026-11-21T08:00:01.000000", all_(S.COMPLETE), pipeline="taxi")
    with pytest.raises(NotFound, match="not a run of pipeline 'taxi'"):
        runs.resolve_run(writer.store, "taxi", "local-2026-11-21T08:00:00.000000")


def test_no_previous_run_says_how_many_there_are(writer):
    writer.ir_run("local-2026-11-21T08:00:00.000000", all_(S.COMPLETE))
    with pytest.raises(NotFound, match=r"the store has 1 run\(s\): no previous run"):
        runs.resolve_run(writer.store, "taxi", "previous")


def test_a_cached_pusher_is_not_a_push(writer):
    writer.ir_run("local-2026-11-21T08:00:00.000000", all_(S.COMPLETE), pushed=True)
    writer.ir_run("local-2026-11-21T08:00:01.000000", all_(S.CACHED), pushed=True)
    assert [r.pushed for r in runs.list_runs(writer.store, "taxi")] == [True, False]


def test_newest_n_and_count(writer):
    for i in range(5):
        writer.ir_run(f"local-2026-11-21T08:00:0{i}.000000", all_(S.COMPLETE), span=i)
    assert runs.count_runs(writer.store, "taxi") == 5
    assert [r.span for r in runs.list_runs(writer.store, "taxi", newest=2)] == [3, 4]
    assert runs.list_runs(writer.store, "taxi", newest=0) == []
    assert [r.span for r in runs.list_runs(writer.store, "taxi", newest=9)] == [0, 1, 2, 3, 4]


@pytest.fixture(params=["associations", "types"])
def labeling(request, monkeypatch):
    """Both ways of naming an IR execution's node: from the executions' own associations (a
    few runs), and from the node contexts' execution types (more executions than
    ASSOCIATION_LABELING_LIMIT)."""
    if request.param == "types":
        monkeypatch.setattr(runs, "ASSOCIATION_LABELING_LIMIT", 0)
    return request.param


def test_nodes_sharing_an_execution_type_are_told_apart(writer, labeling):
    # Two nodes of one component class (say, two resolvers): the type cannot name the node.
    shared = {"Trainer": "shared.Type", "Pusher": "shared.Type"}
    writer.ir_run("local-2026-11-21T08:00:00.000000", all_(S.COMPLETE), types=shared)
    writer.ir_run("local-2026-11-21T08:00:01.000000",
                  {"Trainer": S.COMPLETE, "Pusher": S.FAILED}, types=shared)
    first, second = runs.list_runs(writer.store, "taxi")
    assert first.components == {node: "COMPLETE" for node in NODES}
    assert second.components == {"Trainer": "COMPLETE", "Pusher": "FAILED"}


def test_a_node_whose_type_changed_is_read_in_full(writer, labeling):
    writer.ir_run("local-2026-11-21T08:00:00.000000", {"Trainer": S.COMPLETE},
                  types={"Trainer": "old.Trainer"})
    writer.ir_run("local-2026-11-21T08:00:01.000000", {"Trainer": S.COMPLETE,
                                                       "Pusher": S.COMPLETE},
                  types={"Trainer": "new.Trainer", "Pusher": "old.Trainer"})
    first, second = runs.list_runs(writer.store, "taxi")
    assert first.components == {"Trainer": "COMPLETE"}
    assert second.components == {"Trainer": "COMPLETE", "Pusher": "COMPLETE"}


def test_latest_output_and_run_executions(writer):
    writer.ir_run("local-2026-11-21T08:00:00.000000", all_(S.COMPLETE) | {"SchemaGen": S.COMPLETE})
    writer.ir_run("local-2026-11-21T08:00:01.000000", {"SchemaGen": S.CACHED})
    found = runs.latest_output(writer.store, "taxi", "SchemaGen", "schema")
    assert found is not None and found.uri.startswith("/s/")
    assert runs.latest_output(writer.store, "taxi", "Trainer", "nothing") is None
    records = runs.run_executions(writer.store, "taxi", "local-2026-11-21T08:00:00.000000")
    assert [r.node_id for r in records] == [*NODES, "SchemaGen"]
    assert runs.pushed_destinations(records) == []


def test_failed_node_comes_from_mlmd(tmp_path):
    from runners.local_runner import failed_node
    writer = sqlite_writer(tmp_path / "metadata.sqlite")
    writer.ir_run("local-2026-11-21T08:00:00.000000",
                  {"CsvExampleGen": S.COMPLETE, "AnomalyGate": S.FAILED})
    writer.ir_run("local-2026-11-21T08:00:01.000000",
                  {"CsvExampleGen": S.CACHED, "Trainer": S.RUNNING})
    config = SimpleNamespace(pipeline_name="taxi", store=store_cfg(tmp_path / "metadata.sqlite"))
    assert failed_node(config, "local-2026-11-21T08:00:00.000000") == "AnomalyGate"
    assert failed_node(config, "local-2026-11-21T08:00:01.000000") == "Trainer"
    assert failed_node(config, "local-never-ran") is None


def test_the_layer_imports_no_tensorflow_or_tfx():
    code = ("import sys, tabflow.metadata.runs, tabflow.metadata.store, tabflow.metadata.artifacts, tabflow.metadata.provenance; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'tensorflow', 'tfx', 'apache_beam', 'tensorflow_model_analysis'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
