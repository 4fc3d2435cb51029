"""Recurring runs of the compiled pipeline, as the platforms' own requests: a Vertex AI
`Schedule` (projects.locations.schedules.create, the REST form of aiplatform's
PipelineJobSchedule) and a KFP `RecurringRun` (kfp_server_api V2beta1RecurringRun, what
kfp.Client().create_recurring_run sends). Built from the compiled package and the config's
kfp_schedule cron, written next to the packages, with no GCP or KFP access; send them to the
platform's API (docs/kubeflow.md, "Recurring runs").

Both allow one run at a time and no catch-up: each run judges its model against the last
blessed one and may push, as under Airflow (max_active_runs=1, catchup off).
"""
import json
import os
from typing import Dict

from tabflow.config import PipelineConfig

PRESETS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0",
           "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}


def cron_of(config: PipelineConfig) -> str:
    """The five-field cron of kfp_schedule (presets expanded)."""
    schedule = config.kubeflow.kfp_schedule
    return PRESETS.get(schedule, schedule)


def vertex_schedule(config: PipelineConfig, pipeline_job: dict) -> dict:
    """The Schedule resource (JSON) for Vertex AI: cron with its time zone, the PipelineJob
    request of the compiled package, one run at a time, no catch-up."""
    from google.cloud import aiplatform_v1
    job = {"displayName": config.pipeline_name,
           "pipelineSpec": pipeline_job["pipelineSpec"],
           "runtimeConfig": {**pipeline_job.get("runtimeConfig", {}),
                             "gcsOutputDirectory": config.pipeline_root}}
    request: Dict[str, object] = {"pipelineJob": job}
    if config.beam.gcp_project:
        request["parent"] = (f"projects/{config.beam.gcp_project}/locations/"
                             f"{config.beam.gcp_region}")
    body = {"displayName": f"{config.pipeline_name}-schedule",
            "cron": f"TZ={config.kubeflow.kfp_schedule_timezone} {cron_of(config)}",
            "maxConcurrentRunCount": "1", "catchUp": False,
            "createPipelineJobRequest": request}
    # Parsed by the API's own message class: a field it does not know is an error here.
    schedule = aiplatform_v1.Schedule.from_json(json.dumps(body))
    return json.loads(aiplatform_v1.Schedule.to_json(schedule, including_default_value_fields=False))


def kfp_recurring_run(config: PipelineConfig, pipeline_spec: dict) -> dict:
    """The RecurringRun (JSON) for KFP's v2beta1 API. KFP's cron has a seconds field first."""
    import kfp_server_api as api
    run = api.V2beta1RecurringRun(
        display_name=f"{config.pipeline_name}-schedule",
        pipeline_spec=pipeline_spec,
        runtime_config=api.V2beta1RuntimeConfig(pipeline_root=config.pipeline_root),
        trigger=api.V2beta1Trigger(cron_schedule=api.V2beta1CronSchedule(
            cron=f"0 {cron_of(config)}")),
        max_concurrency="1", mode="ENABLE", no_catchup=True)
    return api.ApiClient().sanitize_for_serialization(run)


def write_schedule(config: PipelineConfig, target: str, package_json: str) -> str:
    """Writes <pipeline>-<target>-schedule.json beside the packages; returns its path."""
    with open(package_json) as f:
        job = json.load(f)
    body = (vertex_schedule(config, job) if target == "vertex"
            else kfp_recurring_run(config, job["pipelineSpec"]))
    path = os.path.join(config.kubeflow.kfp_output_dir,
                        f"{config.pipeline_name}-{target}-schedule.json")
    with open(path, "w") as f:
        json.dump(body, f, indent=2, sort_keys=True)
    return path
