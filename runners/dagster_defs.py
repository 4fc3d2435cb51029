"""The pipeline as Dagster definitions, for Dagster's own daemon and UI:

    DAGSTER_HOME=... dagster dev -f runners/dagster_defs.py        # UI + daemon, loopback
    dagster job execute -f runners/dagster_defs.py -j <pipeline>   # one run from the CLI

Importing builds `defs` from `tabflow.config.from_sources()` (TABFLOW_* variables over the
defaults): the job has one op per node of the compiled pipeline; each run compiles the pipeline
again in the `tabflow_run` resource (the data and code as they are then), holds the pipeline's
run lock, records its process in MLMD, and reports its outcome (alerts, metrics, OpenLineage)
when it ends. The sensor `new_span` requests a run for each span that lands under data_root
(once: the span is the run key); with airflow_schedule set, a schedule runs it on the clock.

Work in progress (issue 23).
"""
import dataclasses

import modules  # noqa: F401  sets Keras 2 before anything imports TensorFlow

import dagster as dg

from runners import dagster_runner
from tabflow.config import PipelineConfig, from_sources


@dataclasses.dataclass
class RunHandle:
    config: PipelineConfig
    run_id: str
    ir: object


def _tabflow_run(config: PipelineConfig):
    @dg.resource
    def tabflow_run(init_context):
        from runners import local_runner
        from runners.progress import logs_to_file
        from runners.run_end import report_run_end
        from tabflow.metadata import run_lock, runs
        local_runner.check_outputs(config)
        run_id = local_runner.new_run_id("dagster")
        error = None
        try:
            with run_lock.held(config.store, config.pipeline_name, f"run {run_id}",
                               on_renew=lambda store: runs.renew_run_lease(
                                   store, run_id, run_lock.LEASE_SECONDS)):
                with logs_to_file(config.log_file) as terminal:
                    with local_runner.prepared_run(config, "dagster", run_id, terminal) as ir:
                        yield RunHandle(config, run_id, ir)
        except Exception as e:  # noqa: BLE001  reported, then Dagster records it
            error = str(e)
            raise
        finally:
            report_run_end(config, run_id, error=error)
    return tabflow_run


def build_definitions(config: PipelineConfig) -> dg.Definitions:
    from pipeline.inputs import gather
    from pipeline.pipeline import create_pipeline
    from runners.airflow_trigger import last_ingested, newest_span
    from runners.local_runner import metadata_connection
    from tabflow.compat.portable_run import compile_with_run_id
    # The graph's shape (nodes and edges) from a compile now; each run compiles again.
    shape = compile_with_run_id(create_pipeline(
        config, gather(config, "dagster"), metadata_connection=metadata_connection(config),
        runner="dagster"), "dagster-definitions")
    job = dagster_runner.DagsterEngine(
        retries=config.airflow.airflow_retries,
        retry_delay_seconds=config.airflow.airflow_retry_delay_seconds,
    ).job(shape, run_ir=lambda context: context.resources.tabflow_run.ir,
          resource_defs={"tabflow_run": _tabflow_run(config)})

    @dg.sensor(job=job, minimum_interval_seconds=config.airflow.airflow_span_poll_seconds)
    def new_span(context):
        newest = newest_span(config.data.data_root)
        done = max(int(context.cursor or 0), last_ingested(config) or 0)
        if newest is None or newest <= done:
            return dg.SkipReason(f"no new span under {config.data.data_root}")
        context.update_cursor(str(newest))
        return dg.RunRequest(run_key=f"span-{newest}", tags={"tabflow/span": str(newest)})

    schedules = []
    if config.airflow.airflow_schedule and config.airflow.airflow_trigger != "new_span":
        schedules.append(dg.ScheduleDefinition(job=job,
                                               cron_schedule=config.airflow.airflow_schedule))
    sensors = [new_span] if config.airflow.airflow_trigger == "new_span" else []
    return dg.Definitions(jobs=[job], sensors=sensors, schedules=schedules)


defs = build_definitions(from_sources())
