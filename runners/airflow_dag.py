"""The pipeline as an Airflow DAG, through TFX's legacy AirflowDagRunner.

Airflow finds DAGs as module-level variables of the files in its dags folder, so importing this
module builds them from `tabflow.config.from_sources()`: TABFLOW_* environment variables over the
defaults. `DAG` is the pipeline; with airflow_trigger = new_span, `SPAN_WATCH` is the DAG that
announces new spans (runners/airflow_trigger.py) and the pipeline runs on each announcement
instead of on its schedule. A dags folder outside this repository needs one line:

    from runners.airflow_dag import DAG, SPAN_WATCH  # noqa: F401

Each task is one TFX component run in-process by the legacy launcher, which records lineage in
MLMD under `pipeline` / `run` / `component_run` contexts (see tabflow/metadata/runs.py and
docs/airflow.md); tabflow/compat/legacy_launcher.py holds its fixes for a store shared with
the Local and Beam runners, runners/airflow_launcher.py what is this runner's own.
"""
import datetime

import modules  # noqa: F401  sets Keras 2 before anything imports TensorFlow

from runners.airflow_trigger import start_date
from tabflow.config import PipelineConfig, from_sources


def on_task_failure(context) -> None:
    """A task failed for good (after its retries): tell the alerts channels which component
    and why. The component comes from Airflow: a task that failed before its executor ran
    (in the driver) leaves its execution RUNNING in MLMD."""
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
    if airflow.airflow_trigger == "new_span":
        from runners.airflow_trigger import spans_dataset
        schedule = [spans_dataset(config)]
    else:
        schedule = airflow.airflow_schedule or None
    return dict(
        schedule=schedule,
        start_date=start_date(config),
        # A paused or newly deployed DAG must not replay every interval since start_date: each
        # run trains and maybe pushes a model.
        catchup=False,
        # Runs share one store and one serving folder, and each judges its model against the
        # last blessed one: one at a time.
        max_active_runs=1,
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

    from pipeline.inputs import gather
    from pipeline.pipeline import create_pipeline
    from runners.airflow_launcher import ConditionalLauncher
    from runners.local_runner import metadata_connection
    pipeline = create_pipeline(config, gather(config, "airflow"),
                               metadata_connection=metadata_connection(config), runner="airflow")
    runner = AirflowDagRunner(AirflowPipelineConfig(
        airflow_dag_config=dag_arguments(config),
        supported_launcher_classes=[ConditionalLauncher.for_pipeline(pipeline)]))
    return runner.run(pipeline)


def build_dags(config: PipelineConfig):
    """(the pipeline's DAG, the span watcher's or None)."""
    watch = None
    if config.airflow.airflow_trigger == "new_span":
        from runners.airflow_trigger import build_watch_dag
        watch = build_watch_dag(config)
    return build_dag(config), watch


DAG, SPAN_WATCH = build_dags(from_sources())
