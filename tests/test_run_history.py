"""list_runs on a real MLMD store (SQLite in tmp_path) holding both context schemas.

The contexts, executions and events written here copy the shapes seen in real stores: a
LocalDagRunner run and an Airflow run (runners/airflow_dag.py) of this pipeline.
"""
import datetime

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

from metadata.runs import list_runs

S = pb.Execution.State
# RunProvenance is an ordinary component to list_runs, in both schemas.
NODES = ["RunProvenance", "CsvExampleGen", "AnomalyGate", "Trainer", "Pusher"]


class StoreWriter:
    """Writes runs the way the IR-based runners and the legacy Airflow launcher do."""

    def __init__(self, store):
        self.store = store
        self.pipeline_type = store.put_context_type(pb.ContextType(name="pipeline"))
        self.pipeline_run_type = store.put_context_type(pb.ContextType(name="pipeline_run"))
        self.node_type = store.put_context_type(pb.ContextType(name="node"))
        airflow_run = pb.ContextType(name="run")
        component_run = pb.ContextType(name="component_run")
        for name in ("pipeline_name", "run_id"):
            airflow_run.properties[name] = pb.STRING
            component_run.properties[name] = pb.STRING
        component_run.properties["component_id"] = pb.STRING
        self.airflow_run_type = store.put_context_type(airflow_run)
        self.component_run_type = store.put_context_type(component_run)
        pushed = pb.ArtifactType(name="PushedModel")
        self.pushed_type = store.put_artifact_type(pushed)
        self.model_type = store.put_artifact_type(pb.ArtifactType(name="Model"))
        self.pipelines = {}
        self.nodes = {}

    def _execution_type(self, node):
        # The legacy launcher adds these properties to the component's execution type.
        t = pb.ExecutionType(name=f"pipeline.components.{node}")
        for name in ("state", "pipeline_name", "pipeline_root", "run_id", "component_id"):
            t.properties[name] = pb.STRING
        return self.store.put_execution_type(t, can_add_fields=True, can_omit_fields=True)

    def _put(self, context):
        [context.id] = self.store.put_contexts([context])
        return context

    def _pipeline(self, name):
        if name not in self.pipelines:
            self.pipelines[name] = self._put(pb.Context(type_id=self.pipeline_type, name=name))
        return self.pipelines[name]

    def _outputs(self, node, pushed):
        if node == "Pusher" and pushed is not None:
            artifact = pb.Artifact(type_id=self.pushed_type, uri=f"/p/{node}")
            artifact.custom_properties["pushed"].int_value = int(pushed)
            return [(artifact, pb.Event(type=pb.Event.OUTPUT, path=pb.Event.Path(
                steps=[pb.Event.Path.Step(key="pushed_model"), pb.Event.Path.Step(index=0)])))]
        if node == "Trainer":
            return [(pb.Artifact(type_id=self.model_type, uri="/m"), pb.Event(
                type=pb.Event.OUTPUT,
                path=pb.Event.Path(steps=[pb.Event.Path.Step(key="model")])))]
        return []

    def ir_run(self, run_id, states, pipeline="taxi", pushed=None):
        """A pipeline_run context (child of the pipeline's), each execution in a node context."""
        pipeline_ctx = self._pipeline(pipeline)
        run = self._put(pb.Context(type_id=self.pipeline_run_type, name=run_id))
        self.store.put_parent_contexts([pb.ParentContext(child_id=run.id,
                                                         parent_id=pipeline_ctx.id)])
        for node, state in states.items():
            key = f"{pipeline}.{node}"
            if key not in self.nodes:
                self.nodes[key] = self._put(pb.Context(type_id=self.node_type, name=key))
            execution = pb.Execution(type_id=self._execution_type(node), last_known_state=state)
            self.store.put_execution(execution, self._outputs(node, pushed),
                                     [pipeline_ctx, run, self.nodes[key]])

    def airflow_run(self, run_id, states, pipeline="taxi", pushed=None):
        """A `run` context with no parent; executions carry component_id and state."""
        pipeline_ctx = self._pipeline(pipeline)
        run = pb.Context(type_id=self.airflow_run_type, name=f"{pipeline}.{run_id}")
        run.properties["pipeline_name"].string_value = pipeline
        run.properties["run_id"].string_value = run_id
        self._put(run)
        legacy_state = {S.COMPLETE: "complete", S.CACHED: "cached", S.RUNNING: "new"}
        for node, state in states.items():
            component_run = pb.Context(type_id=self.component_run_type,
                                       name=f"{pipeline}.{run_id}.{node}")
            for key, value in (("pipeline_name", pipeline), ("run_id", run_id),
                               ("component_id", node)):
                component_run.properties[key].string_value = value
            self._put(component_run)
            execution = pb.Execution(type_id=self._execution_type(node), last_known_state=state)
            for key, value in (("pipeline_name", pipeline), ("run_id", run_id),
                               ("component_id", node), ("state", legacy_state[state])):
                execution.properties[key].string_value = value
            self.store.put_execution(execution, self._outputs(node, pushed),
                                     [pipeline_ctx, run, component_run])


@pytest.fixture
def writer(tmp_path):
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(tmp_path / "metadata.sqlite")
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return StoreWriter(metadata_store.MetadataStore(config))


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
