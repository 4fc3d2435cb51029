"""Fixes to TFX's legacy in-process launcher, which the Airflow DAG (runners/airflow_dag.py)
runs every component with, for an MLMD store that Local and Beam runs also write.

Each fix overrides a private method of TFX 1.16's legacy orchestration (BaseDriver,
Metadata, BaseComponentLauncher). tests/unit/test_airflow_launcher.py checks that every method
overridden or called here still exists with the signature these overrides rely on, so a TFX
upgrade that changes one fails there by name rather than mid-run in Airflow.
"""
import modules  # noqa: F401  sets Keras 2 before the TFX imports below load TensorFlow

from ml_metadata.proto import metadata_store_pb2
from tfx.orchestration import metadata
from tfx.orchestration.launcher.in_process_component_launcher import InProcessComponentLauncher

# Properties the legacy launcher sets on every execution it records.
LEGACY_EXECUTION_PROPERTIES = ("state", "pipeline_name", "pipeline_root", "run_id",
                               "component_id")


def component_named_outputs(driver_class):
    """driver_class, with output artifacts named "<component id>.<output key>:<run id>".

    The legacy driver names them "<output key>:<run id>", and MLMD names are unique per
    artifact type: SchemaGen and ImportSchemaGen both output a Schema under key "schema", so
    whichever ran second in a run failed with AlreadyExistsError.
    """
    class ComponentNamedOutputsDriver(driver_class):
        def _prepare_output_artifacts(self, *args, component_info, **kwargs):
            result = super()._prepare_output_artifacts(
                *args, component_info=component_info, **kwargs)
            for artifacts in result.values():
                for artifact in artifacts:
                    # ExampleGen's driver leaves its output unnamed, and MLMD only keeps
                    # non-empty names unique: prefixed, every new span's Examples after the
                    # first would clash ("CsvExampleGen." already exists).
                    if artifact.name:
                        artifact.name = f"{component_info.component_id}.{artifact.name}"
            return result

    return ComponentNamedOutputsDriver


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
