"""`tabflow run` and `tabflow config`."""
import os
import sys

from tabflow.console.settings import ALL, add_config_arguments, given_settings
from tabflow import config as config_lib
from tabflow import contract

RUNNERS = {"local": "LocalDagRunner", "beam": "BeamDagRunner", "dagster": "Dagster",
           "prefect": "Prefect"}
# Their runs report their own end (alerts, metrics, OpenLineage) as the run closes, as they do
# under their daemon or server (runners/orchestrated.py).
SELF_REPORTING = ("dagster", "prefect")


def _serving_version(config):
    """The version the serving folder's `serving` alias names, if it has a model config."""
    from tabflow.registry import serving
    try:
        return serving.read_labels(config.serving_dir).get(contract.SERVING_ALIAS) \
            if serving.is_local(config.serving_dir) else None
    except ValueError:  # a garbled model config: `models` names it
        return None


def _print_run_result(config, result) -> None:
    from tabflow.metadata.store import store_label
    print(f"\nRun {result.run_id} finished in {result.wall_seconds:.1f} s")
    pusher_cached = any(r.node_id == contract.PUSHER and r.state == "CACHED"
                        for r in result.executions)
    already = [artifact for r in result.executions if r.node_id == contract.PUSHER
               for artifact in r.outputs.get(contract.PUSHED_MODEL_KEY, [])
               if "already_pushed_version" in artifact.custom_properties]
    shown = {os.path.basename(d.rstrip("/")) for d in result.pushed}
    if result.pushed:
        for dest in result.pushed:
            note = " (pushed by an earlier run: nothing changed)" if pusher_cached else ""
            print(f"  pushed model:  {dest}{note}")
    elif already:
        version = already[0].custom_properties["already_pushed_version"].string_value
        shown.add(version)
        print(f"  pushed model:  none new: this model already serves as version {version}")
    else:
        print("  pushed model:  none (the model was not blessed by the Evaluator)")
    serving = _serving_version(config)
    if serving is not None and str(serving) not in shown:
        # A promote or rollback moved the alias since: say what serves.
        print(f"  serving now:   version {serving} (the serving alias; `models --history`)")
    print(f"  MLMD store:    {store_label(config.store)}")
    print(f"  pipeline root: {config.pipeline_root}")
    print(f"  log file:      {config.log_file}")


def cmd_run(args) -> int:
    from runners import local_runner
    config = config_lib.from_sources(args)
    if args.resume and args.runner in SELF_REPORTING:
        raise ValueError(f"--resume restarts Local and Beam runs; on {RUNNERS[args.runner]} "
                         "start a new run (its unchanged components are served from the cache)")
    print(f"Pipeline '{config.pipeline_name}' on {RUNNERS[args.runner]}"
          f" (Beam preset: {config.beam.beam_preset})")
    print(f"  data:   {config.data.data_root}")
    print(f"  schema: {config.data.schema_path}")
    print(f"  output: {config.output_root}")
    if args.resume:
        node_id = local_runner.resume_point(config, args.resume)
        print(f"  resumes: run {args.resume} from {node_id} (outputs upstream of it are "
              "reused; the new run gets its own id)")
    print(f"  (TFX logs: {config.log_file})\n")
    try:
        if args.runner == "beam":
            from runners import beam_runner
            result = beam_runner.run(config, resume=args.resume, wait_seconds=args.wait)
        elif args.runner == "dagster":
            from runners import dagster_job
            result = dagster_job.run(config, given_settings(args), wait_seconds=args.wait)
        elif args.runner == "prefect":
            from runners import prefect_flow
            result = prefect_flow.run(config, given_settings(args), wait_seconds=args.wait)
        else:
            result = local_runner.run(config, resume=args.resume, wait_seconds=args.wait)
    except local_runner.PipelineFailed as e:
        print(f"\nERROR: {e}", file=sys.stderr)
        print(f"Full log: {config.log_file}", file=sys.stderr)
        if args.runner not in SELF_REPORTING:
            _after_run(config, e.run_id, str(e.cause))
        return 1
    _print_run_result(config, result)
    if args.runner not in SELF_REPORTING:
        _after_run(config, result.run_id)
    return 0


def _after_run(config, run_id, error=None) -> None:
    """Sends the run's outcome where the alerts settings say and publishes its metrics. A
    delivery that fails is one warning line here and in the log, and changes nothing about
    the run's result."""
    from runners.run_end import report_run_end
    for target, problem in report_run_end(config, run_id, error).items():
        label = ("notified:" if target in ("webhook", "email") else
                 "lineage:" if target.startswith("openlineage") else "metrics:")
        if problem is None:
            print(f"  {label:<15}{target}")
        else:
            print(f"  WARNING: could not deliver to {target}: {problem}", file=sys.stderr)


def cmd_config(args) -> int:
    print(config_lib.from_sources(args).to_json())
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="run the pipeline end to end (LocalDagRunner by default)")
    p.add_argument("--runner", choices=sorted(RUNNERS), default="local",
                   help="local: LocalDagRunner (default); beam: BeamDagRunner; dagster: a "
                        "Dagster job run in this process ($DAGSTER_HOME's instance, else a "
                        "temporary one); prefect: a Prefect flow run in this process "
                        "(PREFECT_API_URL's server, else a temporary one)")
    p.add_argument("--resume", metavar="RUN_ID",
                   help="restart a FAILED or ABANDONED Local/Beam run from its failed node, "
                        "reusing the outputs upstream of it (TFX partial run)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="while another run of this pipeline holds the store's run lock, wait "
                        "up to SECONDS for it (default: exit 2 at once, naming that run)")
    add_config_arguments(p, ALL)
    p.set_defaults(func=cmd_run)

    p = subparsers.add_parser("config", help="print the effective configuration as JSON, "
                                             "one object per section")
    add_config_arguments(p, ALL)
    p.set_defaults(func=cmd_config)
