"""The pipeline as Dagster definitions, for Dagster's own daemon and UI (docs/dagster.md):

    DAGSTER_HOME=... dagster dev -m runners.dagster_defs -h 127.0.0.1   # UI + daemon
    dagster job launch -m runners.dagster_defs -j <pipeline>             # a run, queued

Importing builds `defs` from the configuration (TABFLOW_* variables over the defaults): the job
of runners/dagster_job.py; with airflow_trigger = new_span, the sensor `new_span` requests a run
for each span that lands under data_root (once: the span is the run key; a span the pipeline has
already ingested, according to MLMD, requests nothing); otherwise a schedule on airflow_schedule
when one is set. The schedule and trigger settings are the same as the Airflow DAG's.
"""
import modules  # noqa: F401  sets Keras 2 before anything imports TensorFlow

import dagster as dg

from runners import dagster_job
from tabflow.config import PipelineConfig, from_sources
from tabflow.config.cron import as_cron


def new_span_request(config: PipelineConfig, cursor: str):
    """(a RunRequest for the newest span, or a SkipReason; the new cursor)."""
    from runners.airflow_trigger import last_ingested, newest_span
    newest = newest_span(config.data.data_root)
    done = max(int(cursor or 0), last_ingested(config) or 0)
    if newest is None or newest <= done:
        return dg.SkipReason(f"no span newer than {done} under {config.data.data_root}"), cursor
    return dg.RunRequest(run_key=f"span-{newest}",
                         tags={dagster_job.SPAN_TAG: str(newest)}), str(newest)


def build_definitions(config: PipelineConfig) -> dg.Definitions:
    job = dagster_job.build_job(config)
    schedule_settings = config.airflow

    @dg.sensor(job=job, minimum_interval_seconds=schedule_settings.airflow_span_poll_seconds,
               description=f"a run for each new span under {config.data.data_root}",
               default_status=dg.DefaultSensorStatus.RUNNING)
    def new_span(context):
        request, cursor = new_span_request(config, context.cursor)
        if cursor != context.cursor:
            context.update_cursor(cursor)
        return request

    sensors, schedules = [], []
    if schedule_settings.airflow_trigger == "new_span":
        sensors.append(new_span)
    elif as_cron(schedule_settings.airflow_schedule):
        schedules.append(dg.ScheduleDefinition(
            job=job, cron_schedule=as_cron(schedule_settings.airflow_schedule),
            default_status=dg.DefaultScheduleStatus.RUNNING))
    return dg.Definitions(jobs=[job], sensors=sensors, schedules=schedules)


defs = build_definitions(from_sources())
