"""The pipeline as an Airflow DAG, through TFX's legacy AirflowDagRunner.

Airflow finds DAGs as module-level variables of the files in its dags folder, so importing this
module builds one (`DAG`) from `pipeline.config.from_sources()`: TAXI_* environment variables
over the defaults. A dags folder outside this repository needs one line:

    from runners.airflow_dag import DAG  # noqa: F401

Each task is one TFX component run in-process by the legacy launcher, which records lineage in
MLMD under `pipeline` / `run` / `component_run` contexts (see metadata/runs.py and
docs/airflow.md); runners/airflow_launcher.py holds its fixes for a store shared with the
Local and Beam runners.
"""
import datetime

import modules  # noqa: F401  sets Keras 2 before anything imports TensorFlow

from pipeline.config import PipelineConfig, from_sources


def on_task_failure(context) -> None:
    """A task failed for good (after its retries): tell the alerts channels which component
    and why. The legacy launcher leaves the failed execution RUNNING in MLMD, so the component
    comes from Airflow."""
    from runners.run_end import report_run_end
    report_run_end(from_sources(), context["dag_run"].run_id,
                   error=str(context.get("exception") or "") or None,
                   failed_component=context["task_instance"].task_id)


def on_dag_success(context) -> None:
    """Every task succeeded: the run's outcome (pushed, not blessed, unchanged) and metrics."""
    from runners.run_end import report_run_end
    report_run_end(from_sources(), context["dag_run"].run_id)


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
        # A failed task notifies with its error; a DAG run that succeeds notifies once at the
        # end. (No DAG failure callback: the task's own already said what failed and why.)
        on_success_callback=on_dag_success,
        default_args=dict(
            on_failure_callback=on_task_failure,
            retries=airflow.airflow_retries,
            retry_delay=datetime.timedelta(seconds=airflow.airflow_retry_delay_seconds),
            retry_exponential_backoff=airflow.airflow_exponential_backoff,
            max_retry_delay=datetime.timedelta(seconds=airflow.airflow_max_retry_delay_seconds),
        ),
    )


def build_dag(config: PipelineConfig):
    """An Airflow DAG (dag_id = pipeline_name) with one task per component of create_pipeline,
    recording lineage in the config's store (an SQLite store's folder is created)."""
    from tfx.orchestration.airflow.airflow_dag_runner import (AirflowDagRunner,
                                                              AirflowPipelineConfig)

    from pipeline.pipeline import create_pipeline
    from runners.airflow_launcher import SharedStoreLauncher
    from runners.local_runner import metadata_connection
    runner = AirflowDagRunner(AirflowPipelineConfig(
        airflow_dag_config=dag_arguments(config),
        supported_launcher_classes=[SharedStoreLauncher]))
    return runner.run(create_pipeline(config, metadata_connection=metadata_connection(config),
                                      runner="airflow"))


DAG = build_dag(from_sources())
