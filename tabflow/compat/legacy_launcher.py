"""Fixes to TFX's legacy in-process launcher, which the Airflow DAG (runners/airflow_dag.py)
runs every component with, for an MLMD store that Local and Beam runs also write, and the
tfx.dsl.Cond support it lacks.

Relies on TFX 1.16.0's legacy orchestration: each fix overrides or calls a private method of
BaseDriver, FileBasedDriver, Metadata, BaseComponentLauncher or InProcessComponentLauncher, or
reads an attribute BaseComponentLauncher sets; a Cond is read from the compiled IR and evaluated
with TFX's placeholder resolution (tfx.dsl.compiler.placeholder_utils), as the IR runners do.
A false condition raises Airflow 2.10's AirflowSkipException. tests/unit/tabflow/compat/test_compat.py checks
that every method overridden or called here still exists with the signature these overrides
rely on, so a TFX upgrade that changes one fails there by name rather than mid-run in Airflow.
"""
import os

from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata
from tfx.orchestration.launcher.in_process_component_launcher import InProcessComponentLauncher

# Properties the legacy launcher sets on every execution it records.
LEGACY_EXECUTION_PROPERTIES = ("state", "pipeline_name", "pipeline_root", "run_id",
                               "component_id")


def component_named_outputs(driver_class):
    """driver_class, with output artifacts named "<component id>.<output key>:<run id>", and a
    retried task's outputs reusing the first attempt's.

    The legacy driver names them "<output key>:<run id>", and MLMD names are unique per
    artifact type: SchemaGen and ImportSchemaGen both output a Schema under key "schema", so
    whichever ran second in a run failed with AlreadyExistsError.

    The legacy driver registers a task's outputs (OUTPUT events, state PENDING) before its
    executor runs. A retry reuses the execution (MergedInputEventsMetadata) and made new
    outputs: named, they clashed with the first attempt's; unnamed (ExampleGen's), the
    execution ended with two Examples. The retry takes the first attempt's artifacts instead,
    emptied of what the failed attempt half-wrote.
    """
    class ComponentNamedOutputsDriver(driver_class):
        def _prepare_output_artifacts(self, input_artifacts, output_dict, exec_properties,
                                      execution_id, pipeline_info, component_info):
            result = super()._prepare_output_artifacts(
                input_artifacts, output_dict, exec_properties, execution_id, pipeline_info,
                component_info=component_info)
            earlier = _earlier_outputs(self._metadata_handle.store, execution_id)
            for key, artifacts in result.items():
                for index, artifact in enumerate(artifacts):
                    # ExampleGen's driver leaves its output unnamed, and MLMD only keeps
                    # non-empty names unique: prefixed, every new span's Examples after the
                    # first would clash ("CsvExampleGen." already exists).
                    if artifact.name:
                        artifact.name = f"{component_info.component_id}.{artifact.name}"
                    previous = earlier.get((key, index))
                    if previous is not None:
                        artifact.id, artifact.name = previous.id, previous.name
                        artifact.uri = previous.uri
                        empty_output(artifact, pipeline_info.pipeline_root)
            return result

    return ComponentNamedOutputsDriver


def _earlier_outputs(store, execution_id: int) -> dict:
    """{(output key, index): artifact} the execution already has OUTPUT events for."""
    ids = {}
    for event in store.get_events_by_execution_ids([execution_id]):
        if event.type != metadata_store_pb2.Event.OUTPUT:
            continue
        keys = [step.key for step in event.path.steps if step.HasField("key")]
        indexes = [step.index for step in event.path.steps if step.HasField("index")]
        if keys:
            ids[(keys[0], indexes[0] if indexes else 0)] = event.artifact_id
    found = {a.id: a for a in store.get_artifacts_by_id(list(ids.values()))} if ids else {}
    return {where: found[i] for where, i in ids.items() if i in found}


def empty_output(artifact, pipeline_root: str) -> None:
    """Deletes what a failed attempt wrote; on a local root only inside its real path, as gc
    (tabflow/registry/containment.py raises OutsideRoot, naming the path, for anything else)."""
    from tfx.dsl.io import fileio
    from tfx.types import ValueArtifact
    from tabflow.registry import containment
    local = "://" not in artifact.uri
    if local and os.path.lexists(artifact.uri):
        containment.remove(artifact.uri, pipeline_root)
    elif not local and fileio.exists(artifact.uri):
        if isinstance(artifact, ValueArtifact):
            fileio.remove(artifact.uri)
        else:
            fileio.rmtree(artifact.uri)
    if not isinstance(artifact, ValueArtifact):
        fileio.makedirs(artifact.uri)


class MergedInputEventsMetadata(metadata.Metadata):
    """The legacy Metadata, recording one artifact given under two input keys as ONE event.

    register_execution writes one INPUT event per (key, artifact). When the Evaluator's
    candidate model is also the resolver's latest blessed model (a rerun whose Trainer was
    cached), the same artifact arrives under `model` and `baseline_model`, and MLMD allows
    one INPUT event per artifact and execution: `AlreadyExistsError: Given event already
    exists` (surfacing as an AssertionError from register_execution's retry path). Like
    the IR runners (tfx/orchestration/portable/mlmd/execution_lib.py), the second key and
    index are appended to the first event's path instead.
    """

    def _artifact_and_event_pairs(self, *args, **kwargs):
        pairs = super()._artifact_and_event_pairs(*args, **kwargs)
        merged, event_of = [], {}
        for pair in pairs:
            artifact = pair[0]
            if len(pair) == 2 and artifact.id:
                if artifact.id in event_of:
                    event_of[artifact.id].path.steps.extend(pair[1].path.steps)
                    continue
                event_of[artifact.id] = pair[1]
            merged.append(pair)
        return merged

    def register_execution(self, pipeline_info, component_info, contexts,
                           exec_properties=None, input_artifacts=None):
        """A retried task reuses its execution, as TFX intends, without its input events.

        TFX keeps one execution per component_run context and, on a retry, re-registers the
        previous one with every input event again: MLMD refuses the duplicates
        (`AlreadyExistsError: Given event already exists`), so under Airflow no retry of a
        component could ever succeed.
        """
        context = self.get_component_run_context(component_info)
        if context is None:
            return super().register_execution(pipeline_info, component_info, contexts,
                                              exec_properties, input_artifacts)
        [previous] = self.store.get_executions_by_context(context.id)
        execution = self._prepare_execution(metadata.EXECUTION_STATE_NEW,
                                            exec_properties or {}, pipeline_info,
                                            component_info)
        execution.id = previous.id
        recorded = {event.artifact_id
                    for event in self.store.get_events_by_execution_ids([previous.id])
                    if event.type == metadata_store_pb2.Event.INPUT}
        pairs = [(pair[0], None) if pair[0].id in recorded else pair
                 for pair in self._artifact_and_event_pairs(
                     artifact_dict=input_artifacts or {},
                     event_type=metadata_store_pb2.Event.INPUT)]
        _, artifact_ids, _ = self.store.put_execution(execution, pairs, contexts + [context])
        contexts.append(context)
        for pair, artifact_id in zip(pairs, artifact_ids):
            pair[0].id = artifact_id
        return execution


class SharedStoreLauncher(InProcessComponentLauncher):
    """TFX's in-process launcher, fixed for a store that IR-based runners also write.

    The legacy launcher reuses an execution type as it is when it already has every
    execution property of the component. A component without execution properties
    (AnomalyGate) then reuses the property-less type LocalDagRunner registered, and the
    legacy launcher's own properties (state, run_id, ...) fail validation. Adding them to
    the type first keeps both runners' executions valid.

    It also records an artifact given under two input keys as one event (see
    MergedInputEventsMetadata) and names outputs by component (see component_named_outputs).
    """

    def __init__(self, *, metadata_connection, **kwargs):
        # The connection arrives unopened (BaseComponentLauncher's contract), so the same
        # connection config can back the fixed Metadata class instead.
        super().__init__(metadata_connection=MergedInputEventsMetadata(
            metadata_connection.connection_config), **kwargs)
        self._driver_class = component_named_outputs(self._driver_class)

    def _run_driver(self, input_dict, output_dict, exec_properties):
        with self._metadata_connection as m:
            execution_type = metadata_store_pb2.ExecutionType(
                name=self._component_info.component_type)
            for name in LEGACY_EXECUTION_PROPERTIES:
                execution_type.properties[name] = metadata_store_pb2.STRING
            m.store.put_execution_type(execution_type, can_add_fields=True,
                                       can_omit_fields=True)
        return super()._run_driver(input_dict, output_dict, exec_properties)


def node_conditionals(pipeline_ir) -> dict:
    """{node id: [(placeholder expression, {input key: (producer node id, output key)})]} of
    the nodes inside a tfx.dsl.Cond, from the compiled pipeline.

    TFX's legacy launcher ignores Cond: under Airflow the Pusher ran for an unblessed model.
    The IR holds each condition as a placeholder over hidden input keys (`_Evaluator.blessing`),
    so the launcher can evaluate it the way the IR runners' input resolution does."""
    out = {}
    for node in pipeline_ir.nodes:
        if not node.HasField("pipeline_node"):
            continue
        pipeline_node = node.pipeline_node
        inputs = pipeline_node.inputs
        if not inputs.conditionals:
            continue
        channels = {key: (spec.channels[0].producer_node_query.id,
                          spec.channels[0].output_key)
                    for key, spec in inputs.inputs.items() if spec.channels}
        out[pipeline_node.node_info.id] = [(cond.placeholder_expression, channels)
                                           for cond in inputs.conditionals.values()]
    return out


class ConditionalLauncher(SharedStoreLauncher):
    """SharedStoreLauncher that honours tfx.dsl.Cond like the IR runners: a component whose
    condition is false does not run and records nothing (its Airflow task is skipped).
    `CONDITIONALS` is set per pipeline by `for_pipeline`.

    It also records a failed executor as a FAILED execution (the legacy launcher left it
    RUNNING for ever). A subclass names the failures a retry cannot mend
    (`deterministic_failures`: they become AirflowFailException, which Airflow does not retry)
    and what runs just before the executor (`before_executor`)."""
    CONDITIONALS: dict = {}

    @classmethod
    def for_pipeline(cls, pipeline):
        """This class, with the conditions of `pipeline` (a tfx.dsl.Pipeline)."""
        from tfx.dsl.compiler.compiler import Compiler
        return type("ConditionalLauncher", (cls,),
                    {"CONDITIONALS": node_conditionals(Compiler().compile(pipeline))})

    def deterministic_failures(self) -> tuple:
        """Exception classes a retry would raise again."""
        return ()

    def before_executor(self) -> None:
        """Runs just before the executor; what it raises is recorded as the executor's
        failure."""

    def _run_driver(self, input_dict, output_dict, exec_properties):
        conditions = self.CONDITIONALS.get(self._component_info.component_id)
        if conditions:
            self.check_conditions(conditions, input_dict, exec_properties)
        return super()._run_driver(input_dict, output_dict, exec_properties)

    def check_conditions(self, conditions, input_dict, exec_properties):
        from tfx.orchestration.portable import data_types as portable_types
        from tfx.dsl.compiler import placeholder_utils
        with self._metadata_connection as m:
            resolved = self._driver_class(metadata_handle=m).resolve_input_artifacts(
                input_dict, exec_properties, self._driver_args, self._pipeline_info)
        by_channel = {(channel.producer_component_id, channel.output_key): resolved[key]
                      for key, channel in input_dict.items()}
        for expression, channels in conditions:
            artifacts = {}
            for key, channel in channels.items():
                if channel not in by_channel:
                    raise ValueError(
                        f"{self._component_info.component_id}: its condition reads "
                        f"{channel[0]}.{channel[1]}, which it does not take as an input; "
                        f"under Airflow a Cond may only test a component's own inputs")
                artifacts[key] = by_channel[channel]
            ok = placeholder_utils.resolve_placeholder_expression(
                expression, placeholder_utils.ResolutionContext(
                    exec_info=portable_types.ExecutionInfo(input_dict=artifacts)))
            if not ok:
                from airflow.exceptions import AirflowSkipException
                raise AirflowSkipException(
                    f"{self._component_info.component_id} skipped: its condition is false "
                    f"(the model was not blessed)")

    def _run_executor(self, execution_id, input_dict, output_dict, exec_properties):
        try:
            self.before_executor()
            return super()._run_executor(execution_id, input_dict, output_dict,
                                         exec_properties)
        except Exception as e:
            self.record_failure(execution_id)
            if isinstance(e, self.deterministic_failures()):
                from airflow.exceptions import AirflowFailException
                raise AirflowFailException(f"{type(e).__name__}: {e}") from e
            raise

    def record_failure(self, execution_id: int) -> None:
        with self._metadata_connection as m:
            [execution] = m.store.get_executions_by_id([execution_id])
            execution.last_known_state = metadata_store_pb2.Execution.FAILED
            execution.properties["state"].string_value = "failed"
            m.store.put_executions([execution])
