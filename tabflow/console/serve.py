"""`tabflow serve dagster|prefect`: the pipeline under an orchestrator's own scheduler and UI,
until interrupted (docs/dagster.md, docs/prefect.md)."""
import os
import subprocess
import sys

from tabflow.console.settings import ALL, add_config_arguments, given_settings
from tabflow import config as config_lib


def cmd_serve(args) -> int:
    config = config_lib.from_sources(args)  # a bad setting is one line here, not in a child
    settings = given_settings(args)
    trigger = (f"a run per new span under {config.data.data_root} (polled every "
               f"{config.airflow.airflow_span_poll_seconds} s)"
               if config.airflow.airflow_trigger == "new_span" else
               f"schedule {config.airflow.airflow_schedule or '(none: runs when launched)'}")
    print(f"Pipeline '{config.pipeline_name}' on {args.orchestrator}: {trigger}")
    print(f"  output: {config.output_root}")
    print(f"  (TFX logs: {config.log_file})")
    if args.orchestrator == "dagster":
        if not os.environ.get("DAGSTER_HOME"):
            print("  NOTE: DAGSTER_HOME is not set: Dagster keeps its runs in a temporary "
                  "folder, gone when this stops", file=sys.stderr)
        env = dict(os.environ)
        # The definitions read the configuration again, in Dagster's code server.
        env.update({f"TABFLOW_{name.upper()}": raw for name, raw in settings.items()})
        dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
        print(f"  Dagster UI: http://{args.host}:{args.port}\n", flush=True)
        try:
            return subprocess.call([dagster, "dev", "-m", "runners.dagster_defs",
                                    "-h", args.host, "-p", str(args.port)], env=env)
        except KeyboardInterrupt:
            return 0
    if not os.environ.get("PREFECT_API_URL"):
        raise ValueError("PREFECT_API_URL is not set: start a Prefect server (prefect server "
                         "start --host 127.0.0.1) and set PREFECT_API_URL=http://127.0.0.1:4200/api")
    print(f"  Prefect API: {os.environ['PREFECT_API_URL']}\n", flush=True)
    from runners import prefect_flow
    try:
        prefect_flow.serve(config, settings)
    except KeyboardInterrupt:
        pass
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "serve", help="run the pipeline under Dagster's daemon and UI (dagster dev) or as "
                      "Prefect deployments served to a Prefect server, until interrupted")
    p.add_argument("orchestrator", choices=("dagster", "prefect"))
    p.add_argument("--host", default="127.0.0.1", help="Dagster UI's address (default: "
                                                       "127.0.0.1)")
    p.add_argument("--port", type=int, default=3000, help="Dagster UI's port (default: 3000)")
    add_config_arguments(p, ALL)
    p.set_defaults(func=cmd_serve)
