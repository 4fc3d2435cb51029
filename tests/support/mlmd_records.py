"""MLMD records written the way the IR-based runners and the legacy Airflow launcher write them.

The contexts, executions and events copy the shapes seen in real stores: a LocalDagRunner run
and an Airflow run (runners/airflow_dag.py) of this pipeline.
"""
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2 as pb

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
        self.examples_type = store.put_artifact_type(pb.ArtifactType(name="Examples"))
        self.schema_type = store.put_artifact_type(pb.ArtifactType(name="Schema"))
        self.pipelines = {}
        self.nodes = {}

    def _execution_type(self, node, type_name=None):
        # The legacy launcher adds these properties to the component's execution type.
        t = pb.ExecutionType(name=type_name or f"pipeline.components.{node}")
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

    @staticmethod
    def _event(key):
        return pb.Event(type=pb.Event.OUTPUT, path=pb.Event.Path(
            steps=[pb.Event.Path.Step(key=key), pb.Event.Path.Step(index=0)]))

    def _outputs(self, node, pushed, span=None, state=None):
        if state in (S.FAILED, S.RUNNING):
            return []
        if node == "CsvExampleGen" and span is not None:
            artifact = pb.Artifact(type_id=self.examples_type, uri=f"/e/{span}")
            artifact.custom_properties["span"].int_value = span
            return [(artifact, self._event("examples"))]
        if node == "SchemaGen":
            return [(pb.Artifact(type_id=self.schema_type, uri=f"/s/{len(self.nodes)}"),
                     self._event("schema"))]
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

    def ir_run(self, run_id, states, pipeline="taxi", pushed=None, span=None, types=None,
               process=None):
        """A pipeline_run context (child of the pipeline's), each execution in a node context.

        `states` maps a node to its execution's state, or to a list of states: one execution
        each, oldest first (a node retried within the run);
        `types` maps a node to its execution type name (default: one type per node);
        `process` is the runner's process record on the run context (tabflow.metadata.runs.this_process
        shape: host, pid, start)."""
        pipeline_ctx = self._pipeline(pipeline)
        run = pb.Context(type_id=self.pipeline_run_type, name=run_id)
        for name, value in (process or {}).items():
            if isinstance(value, int):
                run.custom_properties[name].int_value = value
            else:
                run.custom_properties[name].string_value = value
        run = self._put(run)
        self.store.put_parent_contexts([pb.ParentContext(child_id=run.id,
                                                         parent_id=pipeline_ctx.id)])
        for node, node_states in states.items():
            key = f"{pipeline}.{node}"
            if key not in self.nodes:
                self.nodes[key] = self._put(pb.Context(type_id=self.node_type, name=key))
            for state in node_states if isinstance(node_states, list) else [node_states]:
                execution = pb.Execution(
                    type_id=self._execution_type(node, (types or {}).get(node)),
                    last_known_state=state)
                self.store.put_execution(
                    execution, self._outputs(node, pushed, span, state),
                    [pipeline_ctx, run, self.nodes[key]])
        return run

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


def sqlite_writer(path) -> StoreWriter:
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return StoreWriter(metadata_store.MetadataStore(config))
