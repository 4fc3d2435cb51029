"""`tabflow health`: the pipeline's health over its newest runs as one self-contained
HTML page (runs, durations, seconds per component, cache hits, the gated metric's test value
and drift per span, pushes, promotions and rollbacks on one timeline)."""
import os

from tabflow.console.settings import add_config_arguments, open_store


def cmd_health(args) -> int:
    from tabflow.health import collect, page
    config, store = open_store(args)
    health = collect.collect(store, config.pipeline_name, config.serving_dir, newest=args.last)
    output = args.output or os.path.join(config.output_root, "reports", "health.html")
    from tabflow.review.page import write
    write(output, page.render(health))
    shown = health["runs"]
    newest = f", newest {shown[-1]['status']}" if shown else ""
    print(f"Health of {config.pipeline_name} over {len(shown)} of {health['total_runs']} "
          f"run(s){newest} written to {output}")
    return 0


def register(subparsers) -> None:
    from tabflow.health.collect import DEFAULT_RUNS
    p = subparsers.add_parser("health", help="write a self-contained HTML page of the "
                                             "pipeline's health over its newest runs")
    p.add_argument("--last", type=int, default=DEFAULT_RUNS,
                   help=f"how many of the newest runs to show (default {DEFAULT_RUNS})")
    p.add_argument("--output", help="HTML file to write "
                                    "(default: <output_root>/reports/health.html)")
    add_config_arguments(p, ("store",))
    p.set_defaults(func=cmd_health)
