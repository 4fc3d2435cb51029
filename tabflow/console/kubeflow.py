"""`tabflow kubeflow compile|submit`: Kubeflow Pipelines v2 / Vertex AI Pipelines."""
from tabflow.console.settings import add_config_arguments
from tabflow import config as config_lib
from runners.kubeflow_v2 import TARGETS

# Everything the compiled pipeline holds; the platform keeps lineage, so no store section.
SECTIONS = ("data", "training", "gates", "beam", "kubeflow")


def _print_compiled(compiled) -> None:
    print(f"PipelineSpec (KFP):    {compiled.pipeline_spec_yaml}")
    print(f"PipelineJob (Vertex):  {compiled.pipeline_job_json}")
    if compiled.schedule_json:
        what = "Schedule (Vertex)" if compiled.target == "vertex" else "RecurringRun (KFP)"
        print(f"{what + ':':<23}{compiled.schedule_json}")


def cmd_compile(args) -> int:
    from runners import kubeflow_v2
    config = config_lib.from_sources(args)
    _print_compiled(kubeflow_v2.compile_pipeline(config, args.target))
    return 0


def cmd_submit(args) -> int:
    from runners import kubeflow_v2
    config = config_lib.from_sources(args)
    caching = {"on": True, "off": False}.get(args.caching)
    run = kubeflow_v2.submit(config, args.target, args.run_name, args.service_account, caching)
    target = args.target or config.kubeflow.kfp_target
    if target == "kfp":
        print(f"KFP run {run.run_id} started on {config.kubeflow.kfp_endpoint}")
    else:
        print(f"Vertex pipeline job {run.resource_name} submitted")
    return 0


def register(subparsers) -> None:
    kubeflow = subparsers.add_parser(
        "kubeflow", help="Kubeflow Pipelines v2 / Vertex AI Pipelines: compile and submit")
    sub = kubeflow.add_subparsers(dest="kubeflow_command", required=True)
    target_help = ("vertex: Vertex AI Pipelines, with the baseline-model comparison; "
                   "kfp: open-source KFP, absolute thresholds only (default: config kfp_target)")

    p = sub.add_parser("compile", help="write the PipelineSpec YAML and PipelineJob JSON")
    p.add_argument("--target", choices=TARGETS, default="", help=target_help)
    add_config_arguments(p, SECTIONS)
    p.set_defaults(func=cmd_compile)

    p = sub.add_parser("submit", help="compile, then start a run on KFP or Vertex")
    p.add_argument("--target", choices=TARGETS, default="", help=target_help)
    p.add_argument("--run-name", default="", help="run / display name (default: generated)")
    p.add_argument("--service-account", default="",
                   help="Kubernetes (KFP) or Google Cloud (Vertex) service account for the run")
    p.add_argument("--caching", choices=("on", "off"), default=None,
                   help="override every task's cache setting (default: config enable_cache)")
    add_config_arguments(p, SECTIONS)
    p.set_defaults(func=cmd_submit)
