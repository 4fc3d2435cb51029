"""`tabflow lineage ...`: trace, impact, runs, diff and graph over the MLMD store.

Imports no TensorFlow, TFX, TFDV, TFMA or Beam: only ml_metadata, protobuf and proto modules,
so a question is answered in well under a second.
"""
import json
import os
import sys

from tabflow.console.settings import add_config_arguments, open_store

# Lineage reads the store only: the top-level settings and the store section.
SECTIONS = ("store",)


def _emit(args, result, formatter) -> int:
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        print(formatter(result))
    return 0


def cmd_trace(args) -> int:
    from tabflow.lineage import text, trace
    config, store = open_store(args)
    return _emit(args, trace.trace(store, args.target, config.serving_dir),
                 text.format_trace)


def cmd_impact(args) -> int:
    from tabflow.lineage import impact, text
    config, store = open_store(args)
    return _emit(args, impact.impact(store, args.examples, config.pipeline_name,
                                     config.serving_dir), text.format_impact)


def cmd_runs(args) -> int:
    from tabflow.lineage import runs, text
    from tabflow.metadata.runs import count_runs
    config, store = open_store(args)
    newest = None if args.all else args.last
    rows = runs.run_rows(store, config.pipeline_name, newest)
    if args.json:
        return _emit(args, rows, text.format_runs)
    print(text.format_runs(rows))
    # Fewer rows than asked for: there are no older runs, and no need to list them all.
    older = (count_runs(store, config.pipeline_name) - len(rows)
             if newest is not None and len(rows) == newest else 0)
    if older > 0:
        print(f"({older} older run(s) not shown: --all lists every run, --last N the newest N)")
    return 0


def cmd_diff(args) -> int:
    from tabflow.lineage import diff, text
    config, store = open_store(args)
    result = diff.diff(store, config.pipeline_name, args.run_a, args.run_b, top=args.top)
    return _emit(args, result, text.format_diff)


def cmd_graph(args) -> int:
    from tabflow.lineage import render, runs
    config, store = open_store(args)
    g, title = runs.graph_for(store, config.pipeline_name, args.target)
    if args.json:
        output = json.dumps({"title": title, **render.to_json(g)}, indent=2) + "\n"
    else:
        output = {"dot": render.to_dot, "svg": render.to_svg,
                  "html": lambda graph_: render.to_html(graph_, title)}[args.format](g)
    if args.output:
        with open(args.output, "w") as f:
            f.write(output)
        print(f"{'json' if args.json else args.format} lineage graph of {title} "
              f"({len(g.artifacts)} artifacts, {len(g.executions)} executions) "
              f"written to {args.output}")
    else:
        sys.stdout.write(output)
    return 0


def cmd_export(args) -> int:
    """Past runs' OpenLineage events: to a JSON-lines file, an HTTP endpoint, or stdout."""
    from tabflow.metadata.runs import list_runs, resolve_run
    from tabflow.monitoring import openlineage
    config, store = open_store(args)
    if args.all:
        run_ids = [info.run_id for info in list_runs(store, config.pipeline_name)]
    else:
        run_ids = [resolve_run(store, config.pipeline_name, spec).run_id
                   for spec in (args.runs or ["latest"])]
    events = [event for run_id in run_ids for event in openlineage.run_events(
        store, config.pipeline_name, run_id, config.openlineage.openlineage_namespace)]
    if not (args.output or args.url):
        for event in events:
            print(openlineage.to_json(event))
        return 0
    section = config.openlineage
    results = openlineage.deliver(events, args.output or "", args.url or "",
                                  section.openlineage_endpoint, section.openlineage_timeout)
    failed = {target: problem for target, problem in results.items() if problem}
    for target, problem in failed.items():
        print(f"ERROR: could not deliver to {target}: {problem}", file=sys.stderr)
    if not failed:
        where = " and ".join(x for x in (args.output, args.url) if x)
        print(f"{len(events)} OpenLineage events of {len(run_ids)} run(s) sent to {where}")
    return 1 if failed else 0


def _closed_pipe_is_fine(func):
    def run(args) -> int:
        try:
            return func(args)
        except BrokenPipeError:  # `... | head` closed the pipe: not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    return run


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "lineage", help="lineage questions over the MLMD store",
        description="Lineage questions over the pipeline's MLMD store (the store comes from the "
                    "pipeline settings: --output-root, --metadata-path or --mysql-*). "
                    "Every command takes --json.")
    sub = parser.add_subparsers(dest="lineage_command", required=True)

    def command(name, func, help_text, sections=SECTIONS, json_flag=True):
        p = sub.add_parser(name, help=help_text, description=help_text)
        if json_flag:
            p.add_argument("--json", action="store_true", help="print JSON for scripts")
        add_config_arguments(p, sections)
        p.set_defaults(func=_closed_pipe_is_fine(func))
        return p

    p = command("trace", cmd_trace, "upstream chain of a pushed model or a model")
    p.add_argument("target", help="artifact id, 'latest-pushed', an alias of the serving folder "
                                  "('serving', 'canary', alias:NAME) or a serving path")
    p = command("impact", cmd_impact, "everything derived from a data span or Examples artifact")
    p.add_argument("examples", help="span number (or Examples artifact id if no such span); "
                                    "span:N or id:N to say which")
    p = command("runs", cmd_runs, "the pipeline's runs, whatever the runner, oldest first")
    p.add_argument("--last", type=int, default=50, metavar="N",
                   help="list the newest N runs (default 50)")
    p.add_argument("--all", action="store_true", help="list every run")
    p = command("diff", cmd_diff, "what changed between two runs")
    p.add_argument("run_a", help="run id (see `lineage runs`), 'latest' or 'previous'")
    p.add_argument("run_b", help="run id, 'latest' or 'previous'")
    p.add_argument("--top", type=int, default=10, help="features to show by drift (default 10)")
    p = command("graph", cmd_graph, "the lineage graph of a run or an artifact")
    p.add_argument("target", help="run id, 'latest', 'previous' or an artifact id")
    p.add_argument("--format", choices=("dot", "svg", "html"), default="dot",
                   help="dot (for graphviz), svg, or a self-contained html page; "
                        "--json prints nodes and edges instead")
    p.add_argument("--output", help="file to write (default: standard output)")
    p = command("export", cmd_export, "OpenLineage events of past runs (a START and a "
                "COMPLETE or FAIL event per component execution): one JSON event per line to "
                "standard output, --output FILE or --url URL", ("store", "openlineage"),
                json_flag=False)
    p.add_argument("--openlineage", action="store_true", required=True,
                   help="export as OpenLineage RunEvents (the one format, named for clarity)")
    p.add_argument("runs", nargs="*", metavar="RUN",
                   help="run ids, 'latest' or 'previous' (default: latest)")
    p.add_argument("--all", action="store_true", help="every run, oldest first")
    p.add_argument("--output", metavar="FILE", help="append the events to FILE (JSON lines)")
    p.add_argument("--url", help="POST the events to an OpenLineage endpoint at URL "
                                 "(--openlineage-endpoint, default api/v1/lineage; API key "
                                 "from TABFLOW_OPENLINEAGE_API_KEY)")
