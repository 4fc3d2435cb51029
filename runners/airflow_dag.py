"""The pipeline as an Airflow DAG, through TFX's legacy AirflowDagRunner.

Airflow finds DAGs as module-level variables of the files in its dags folder, so importing this
module builds one (`DAG`) from `pipeline.config.from_sources()`: TAXI_* environment variables
over the defaults. A dags folder outside this repository needs one line:

    from runners.airflow_dag import DAG  # noqa: F401

Each task is one TFX component run in-process by the legacy launcher, which records lineage in
MLMD under `pipeline` / `run` / `component_run` contexts (see metadata/runs.py and
docs/airflow.md).
"""
import datetime

import modules  # noqa: F401  sets Keras 2 before anything imports TensorFlow

from pipeline.config import PipelineConfig, from_sources

# Properties the legacy launcher sets on every execution it records.
_LEGACY_EXECUTION_PROPERTIES = ("state", "pipeline_name", "pipeline_root", "run_id",
                                "component_id")


def dag_arguments(config: PipelineConfig) -> dict:
    """Keyword arguments for airflow.models.DAG, from the config's airflow section."""
    airflow = config.airflow
    start = datetime.datetime.fromisoformat(airflow.airflow_start_date)
    if start.tzinfo is None:
        start = start.replace(tzinfo=datetime.timezone.utc)
    return dict(
        schedule=airflow.airflow_schedule or None,
        start_date=start,
        # A paused or newly deployed DAG must not replay every interval since start_date: each
        # run trains and maybe pushes a model.
        catchup=False,
        default_args=dict(
            retries=airflow.airflow_retries,
            retry_delay=datetime.timedelta(seconds=airflow.airflow_retry_delay_seconds),
            retry_exponential_backoff=airflow.airflow_exponential_backoff,
            max_retry_delay=datetime.timedelta(seconds=airflow.airflow_max_retry_delay_seconds),
        ),
    )


def _component_named_outputs(driver_class):
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
                    artifact.name = f"{component_info.component_id}.{artifact.name}"
            return result

    return ComponentNamedOutputsDriver


def _merged_input_events_metadata_class():
    from tfx.orchestration import metadata

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

    return MergedInputEventsMetadata


def _launcher_class():
    from tfx.orchestration.launcher.in_process_component_launcher import (
        InProcessComponentLauncher)
    from ml_metadata.proto import metadata_store_pb2

    merged_input_events_metadata = _merged_input_events_metadata_class()

    class SharedStoreLauncher(InProcessComponentLauncher):
        """TFX's in-process launcher, fixed for a store that IR-based runners also write.

        The legacy launcher reuses an execution type as it is when it already has every
        execution property of the component. A component without execution properties
        (AnomalyGate) then reuses the property-less type LocalDagRunner registered, and the
        legacy launcher's own properties (state, run_id, ...) fail validation. Adding them to
        the type first keeps both runners' executions valid.

        It also records an artifact given under two input keys as one event (see
        MergedInputEventsMetadata) and names outputs by component (see
        _component_named_outputs).
        """

        def __init__(self, *, metadata_connection, **kwargs):
            # The connection arrives unopened (BaseComponentLauncher's contract), so the same
            # connection config can back the fixed Metadata class instead.
            super().__init__(metadata_connection=merged_input_events_metadata(
                metadata_connection._connection_config), **kwargs)
            self._driver_class = _component_named_outputs(self._driver_class)

        def _run_driver(self, input_dict, output_dict, exec_properties):
            with self._metadata_connection as m:
                execution_type = metadata_store_pb2.ExecutionType(
                    name=self._component_info.component_type)
                for name in _LEGACY_EXECUTION_PROPERTIES:
                    execution_type.properties[name] = metadata_store_pb2.STRING
                m.store.put_execution_type(execution_type, can_add_fields=True,
                                           can_omit_fields=True)
            return super()._run_driver(input_dict, output_dict, exec_properties)

    return SharedStoreLauncher


def build_dag(config: PipelineConfig):
    """An Airflow DAG (dag_id = pipeline_name) with one task per component of create_pipeline,
    recording lineage in the config's store (an SQLite store's folder is created)."""
    from tfx.orchestration.airflow.airflow_dag_runner import (AirflowDagRunner,
                                                              AirflowPipelineConfig)

    from pipeline.pipeline import create_pipeline
    from runners.local_runner import metadata_connection
    runner = AirflowDagRunner(AirflowPipelineConfig(
        airflow_dag_config=dag_arguments(config),
        supported_launcher_classes=[_launcher_class()]))
    return runner.run(create_pipeline(config, metadata_connection=metadata_connection(config),
                                      runner="airflow"))


DAG = build_dag(from_sources())
