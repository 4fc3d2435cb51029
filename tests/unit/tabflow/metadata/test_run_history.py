"""list_runs on a real MLMD store (SQLite in tmp_path) holding both context schemas, written as
the runners write them (tests/support/mlmd_records.py)."""
import datetime

import pytest

from tabflow.metadata.runs import list_runs
from tests.support.mlmd_records import NODES, S, sqlite_writer


@pytest.fixture
def writer(tmp_path):
    return sqlite_writer(tmp_path / "metadata.sqlite")


def all_(state):
    return {node: state for node in NODES}


def test_both_schemas_listed_oldest_first_with_runner(writer):
    writer.ir_run("local-2026-11-21T08:30:32.687057", all_(S.COMPLETE), pushed=True)
    writer.airflow_run("manual__2026-11-21T08:46:00.067912+00:00", all_(S.CACHED))
    writer.ir_run("beam-2026-11-21T09:00:00.000001", all_(S.CACHED))
    writer.ir_run("my-own-run", all_(S.CACHED))

    runs = list_runs(writer.store, "taxi")
    assert [(r.runner, r.schema) for r in runs] == [
        ("local", "ir"), ("airflow", "airflow"), ("beam", "ir"), ("unknown", "ir")]
    assert runs[1].run_id == "manual__2026-11-21T08:46:00.067912+00:00"
    assert runs[0].components == {node: "COMPLETE" for node in NODES}
    assert runs[1].components == {node: "CACHED" for node in NODES}
    assert all(r.status == "COMPLETE" for r in runs)
    starts = [r.started for r in runs]
    assert starts == sorted(starts)
    assert all(r.started.tzinfo == datetime.timezone.utc for r in runs)
    assert all(r.ended is not None and r.ended >= r.started for r in runs)


def test_failed_gate_makes_the_run_failed(writer):
    writer.ir_run("local-2026-11-21T10:00:00.000000",
                  {"CsvExampleGen": S.COMPLETE, "AnomalyGate": S.FAILED})
    [run] = list_runs(writer.store, "taxi")
    assert run.status == "FAILED"
    assert run.components == {"CsvExampleGen": "COMPLETE", "AnomalyGate": "FAILED"}
    assert run.ended is not None
    assert run.pushed is False


def test_unfinished_execution_makes_the_run_running(writer):
    # The legacy launcher leaves a failed task's execution RUNNING ("new").
    writer.airflow_run("manual__2026-11-21T11:00:00+00:00",
                       {"CsvExampleGen": S.COMPLETE, "AnomalyGate": S.RUNNING})
    writer.ir_run("local-2026-11-21T11:00:01.000000",
                  {"CsvExampleGen": S.CACHED, "Trainer": S.RUNNING})
    assert [(r.status, r.ended) for r in list_runs(writer.store, "taxi")] == [
        ("RUNNING", None), ("RUNNING", None)]


def test_pushed_only_when_a_pushed_model_says_pushed_1(writer):
    writer.ir_run("local-2026-11-21T12:00:00.000000", all_(S.COMPLETE), pushed=True)
    writer.airflow_run("manual__2026-11-21T12:01:00+00:00", all_(S.COMPLETE), pushed=False)
    writer.airflow_run("manual__2026-11-21T12:02:00+00:00", all_(S.COMPLETE), pushed=True)
    writer.ir_run("local-2026-11-21T12:03:00.000000", all_(S.COMPLETE), pushed=False)
    writer.ir_run("local-2026-11-21T12:04:00.000000",
                  {n: S.CACHED for n in NODES if n != "Pusher"})  # Cond skipped Pusher
    assert [r.pushed for r in list_runs(writer.store, "taxi")] == [
        True, False, True, False, False]


def test_other_pipelines_runs_are_excluded(writer):
    writer.ir_run("local-2026-11-21T13:00:00.000000", all_(S.COMPLETE), pipeline="taxi")
    writer.ir_run("local-2026-11-21T13:00:01.000000", all_(S.COMPLETE), pipeline="taxi_v2")
    writer.airflow_run("manual__2026-11-21T13:00:02+00:00", all_(S.COMPLETE), pipeline="taxi_v2")
    assert [r.run_id for r in list_runs(writer.store, "taxi")] == [
        "local-2026-11-21T13:00:00.000000"]
    assert [r.schema for r in list_runs(writer.store, "taxi_v2")] == ["ir", "airflow"]
    # Node contexts are per pipeline: taxi_v2's nodes never leak into taxi's components.
    assert list_runs(writer.store, "taxi")[0].components == {n: "COMPLETE" for n in NODES}


def test_empty_or_unknown_pipeline_lists_nothing(writer):
    assert list_runs(writer.store, "taxi") == []
    writer.ir_run("local-2026-11-21T14:00:00.000000", all_(S.COMPLETE))
    assert list_runs(writer.store, "nope") == []


def test_store_with_only_one_schema_lists_its_runs(tmp_path):
    """A store only Local runs wrote has no `run` type (and vice versa): no NotFoundError."""
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2
    cc = metadata_store_pb2.ConnectionConfig()
    cc.sqlite.filename_uri = str(tmp_path / "empty.sqlite")
    cc.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    store = metadata_store.MetadataStore(cc)
    pipeline_type = store.put_context_type(metadata_store_pb2.ContextType(name="pipeline"))
    store.put_contexts([metadata_store_pb2.Context(type_id=pipeline_type, name="taxi")])
    assert list_runs(store, "taxi") == []
