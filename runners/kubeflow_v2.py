"""Kubeflow Pipelines v2 and Vertex AI Pipelines: compile create_pipeline(config), submit it.

KubeflowV2DagRunner only compiles; the platform runs every component in config.kubeflow.kfp_image
(see Dockerfile) and records lineage in its own metadata service, not in the project's MLMD
store, so the definition gets no metadata connection. Two packages are written per target into
config.kubeflow.kfp_output_dir:

- <pipeline>-<target>.yaml: the PipelineSpec, for kfp.Client().create_run_from_pipeline_package
  or the KFP UI's upload;
- <pipeline>-<target>.json: the PipelineJob (spec plus runtime config), for
  google.cloud.aiplatform.PipelineJob(template_path=...).

Target 'kfp' leaves out the latest-blessed-model resolver: open-source KFP's backend does not
implement resolver tasks ("resolver not implemented yet"), so the Evaluator blesses on absolute
thresholds only. Target 'vertex' keeps the comparison against the last blessed model.
"""
import dataclasses
import json
import os

# TFX_DAG and pipeline_tasks too: whoever reads a compiled package finds its tasks with them.
from tabflow.compat.kubeflow_spec import TFX_DAG, fix_conditions, pipeline_tasks  # noqa: F401
from tabflow.config import PipelineConfig

TARGETS = ("vertex", "kfp")


@dataclasses.dataclass
class CompiledPipeline:
    target: str
    pipeline_spec_yaml: str
    pipeline_job_json: str
    with_baseline: bool
    schedule_json: str = ""  # the platform's recurring-run request, when kfp_schedule is set


def _with_baseline(target: str) -> bool:
    if target not in TARGETS:
        raise ValueError(f"Kubeflow target must be one of {TARGETS}, got {target!r}")
    return target == "vertex"


def package_paths(config: PipelineConfig, target: str):
    """(PipelineSpec YAML, PipelineJob JSON) paths for a target."""
    stem = os.path.join(config.kubeflow.kfp_output_dir, f"{config.pipeline_name}-{target}")
    return stem + ".yaml", stem + ".json"


def compile_pipeline(config: PipelineConfig, target: str = "",
                     allow_local_root: bool = False) -> CompiledPipeline:
    """Compile create_pipeline(config) for `target` (default config.kubeflow.kfp_target);
    no GCP access. `allow_local_root`: for running the compiled tasks on this machine (tests),
    where a local output_root is what is wanted."""
    target = target or config.kubeflow.kfp_target
    if "://" not in config.output_root and not allow_local_root:
        # The pipeline root, the data root's default and the serving folder all derive from it:
        # a package compiled with a local one points the cluster at this machine's disk.
        raise ValueError(f"config setting output_root must be a bucket URI (gs://...) for "
                         f"target '{target}': the platform's containers cannot reach the local "
                         f"folder {config.output_root!r} (--output-root / TABFLOW_OUTPUT_ROOT)")
    with_baseline = _with_baseline(target)
    output_dir = config.kubeflow.kfp_output_dir
    if "://" in output_dir:
        # The packages are read from local disk by `submit` and by kfp.Client.
        raise ValueError(f"config setting kfp_output_dir must be a local folder, "
                         f"got {output_dir!r}")
    import modules  # noqa: F401  sets Keras 2 before TensorFlow loads
    import yaml
    from tfx import v1 as tfx

    from pipeline.inputs import gather
    from pipeline.pipeline import LATEST_BLESSED, NO_BASELINE, create_pipeline

    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=config.kubeflow.kfp_image))
    # No metadata connection: KFP and Vertex record lineage in their own metadata service.
    inputs = gather(config, target)
    pipeline = create_pipeline(
        config, inputs, metadata_connection=None, runner=target,
        # KubeflowV2's compiler turns only TFX's stock resolver strategies into tasks.
        baseline=LATEST_BLESSED if with_baseline else NO_BASELINE)
    if target == "vertex":
        # Vertex AI runs it after every task has ended, with the pipeline's final status;
        # open-source KFP has no exit handlers for TFX pipelines.
        from pipeline.exit_notify import exit_handler
        runner.set_exit_handler(exit_handler(config))
    job = runner.run(pipeline, write_out=False)
    fix_conditions(job["pipelineSpec"])
    # The YAML has no runtime config: without a default root, a KFP upload could not run.
    job["pipelineSpec"]["defaultPipelineRoot"] = config.pipeline_root

    yaml_path, json_path = package_paths(config, target)
    os.makedirs(output_dir, exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(job, f, indent=2, sort_keys=True)
    with open(yaml_path, "w") as f:
        f.write(f"# PipelineSpec of '{config.pipeline_name}' for target '{target}', "
                f"compiled by runners/kubeflow_v2.py\n")
        yaml.safe_dump(job["pipelineSpec"], f, sort_keys=True)
    if not with_baseline:
        print(f"note: target '{target}' has no latest-blessed-model resolver: the Evaluator "
              f"blesses on absolute thresholds only ({inputs.spec.headline.title} bound "
              f"{inputs.spec.threshold:g})")
    schedule_json = ""
    if config.kubeflow.kfp_schedule:
        from runners.kubeflow_schedule import write_schedule
        schedule_json = write_schedule(config, target, json_path)
    return CompiledPipeline(target, yaml_path, json_path, with_baseline, schedule_json)


def submit(config: PipelineConfig, target: str = "", run_name: str = "",
           service_account: str = "", enable_caching=None):
    """Compile, then start a run on KFP (config.kubeflow.kfp_endpoint) or Vertex
    (config.beam.gcp_project, gcp_region).

    Returns the platform's run object: kfp's RunPipelineResult or aiplatform's PipelineJob.
    """
    target = target or config.kubeflow.kfp_target
    _with_baseline(target)
    if target == "kfp" and not config.kubeflow.kfp_endpoint:
        raise ValueError("target 'kfp' needs config setting kfp_endpoint (env TABFLOW_KFP_ENDPOINT), "
                         "e.g. http://localhost:8080 after port-forwarding ml-pipeline-ui")
    if target == "vertex" and not config.beam.gcp_project:
        raise ValueError("target 'vertex' needs config setting gcp_project (env TABFLOW_GCP_PROJECT)")
    compiled = compile_pipeline(config, target)  # refuses a local output_root
    if target == "kfp":
        import kfp
        client = kfp.Client(host=config.kubeflow.kfp_endpoint)
        return client.create_run_from_pipeline_package(
            compiled.pipeline_spec_yaml, arguments={}, run_name=run_name or None,
            pipeline_root=config.pipeline_root, enable_caching=enable_caching,
            service_account=service_account or None)
    from google.cloud import aiplatform
    job = aiplatform.PipelineJob(
        display_name=run_name or config.pipeline_name,
        template_path=compiled.pipeline_job_json,
        pipeline_root=config.pipeline_root,
        enable_caching=enable_caching,
        project=config.beam.gcp_project,
        location=config.beam.gcp_region)
    job.submit(service_account=service_account or None)
    return job
