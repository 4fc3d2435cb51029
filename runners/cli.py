"""The `taxi-pipeline` console entry point."""
import argparse
import os
import shutil
import sys
from pathlib import Path

from pipeline import config as config_lib
from pipeline import contract


def _print_run_result(config, result) -> None:
    print(f"\nRun {result.run_id} finished in {result.wall_seconds:.1f} s")
    pusher_cached = any(r.node_id == contract.PUSHER and r.state == "CACHED" for r in result.executions)
    if result.pushed:
        for dest in result.pushed:
            note = " (pushed by an earlier run: nothing changed)" if pusher_cached else ""
            print(f"  pushed model:  {dest}{note}")
    else:
        print("  pushed model:  none (the model was not blessed by the Evaluator)")
    store = (f"mysql://{config.mysql_host}:{config.mysql_port}/{config.mysql_database}"
             if config.mysql_host else config.metadata_path)
    print(f"  MLMD store:    {store}")
    print(f"  pipeline root: {config.pipeline_root}")
    print(f"  log file:      {config.log_file}")


RUNNERS = {"local": "LocalDagRunner", "beam": "BeamDagRunner"}


def cmd_run(args) -> int:
    from runners import local_runner
    config = config_lib.from_sources(args)
    print(f"Pipeline '{config.pipeline_name}' on {RUNNERS[args.runner]}"
          f" (Beam preset: {config.beam_preset})")
    print(f"  data:   {config.data_root}")
    print(f"  schema: {config.schema_path}")
    print(f"  output: {config.output_root}")
    print(f"  (TFX logs: {config.log_file})\n")
    try:
        if args.runner == "beam":
            from runners import beam_runner
            result = beam_runner.run(config)
        else:
            result = local_runner.run(config)
    except local_runner.PipelineFailed as e:
        print(f"\nERROR: {e}", file=sys.stderr)
        print(f"Full log: {config.log_file}", file=sys.stderr)
        return 1
    _print_run_result(config, result)
    return 0


def cmd_config(args) -> int:
    print(config_lib.from_sources(args).to_json())
    return 0


def _latest_inferred_schema(config) -> str:
    from metadata.errors import StoreError
    from metadata.runs import latest_output
    from metadata.store import open_store
    from pipeline import contract
    try:
        store = open_store(config)
    except StoreError as e:
        raise SystemExit(str(e))
    schema = latest_output(store, config.pipeline_name, contract.SCHEMA_GEN, contract.SCHEMA_KEY)
    if schema is None:
        raise SystemExit(f"no SchemaGen output in {config.metadata_path}: run the pipeline first")
    return os.path.join(schema.uri, contract.SCHEMA_FILE)


def cmd_schema_propose(args) -> int:
    from artifacts.schema import load_schema
    from pipeline import schema_proposal
    config = config_lib.from_sources(args)
    inferred = args.inferred or _latest_inferred_schema(config)
    out = args.output or str(Path(config.schema_path).with_suffix(".proposed.pbtxt"))
    changes = schema_proposal.write_proposal(config.schema_path, inferred, out)
    print(f"inferred schema: {inferred}")
    if not changes:
        print("The curated schema already covers the inferred one: nothing to propose.")
        return 0
    print("Proposed changes:")
    for change in changes:
        print(f"  - {change}")
    # Compare canonical texts so the curated file's review comments do not show as changes.
    old = schema_proposal.schema_to_text(load_schema(config.schema_path))
    new = Path(out).read_text()
    print()
    print(schema_proposal.unified_diff(old, new, config.schema_path, out))
    if args.apply:
        shutil.copyfile(out, config.schema_path)
        print(f"Applied: {config.schema_path} now holds the proposal; its review comments are "
              f"gone, so check it with git diff and restore the ones still true.")
    else:
        print(f"Proposal written to {out}; the curated schema is unchanged. "
              f"Review it, then rerun with --apply to adopt it.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="taxi-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the pipeline end to end (LocalDagRunner by default)")
    p.add_argument("--runner", choices=sorted(RUNNERS), default="local",
                   help="local: LocalDagRunner (default); beam: BeamDagRunner")
    config_lib.add_config_arguments(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("config", help="print the effective configuration as JSON")
    config_lib.add_config_arguments(p)
    p.set_defaults(func=cmd_config)

    from runners import kubeflow_v2
    kubeflow_v2.register_cli(sub, config_lib.add_config_arguments)
    from lineage.cli import register_cli as register_lineage_cli
    register_lineage_cli(sub, config_lib.add_config_arguments)
    from review.cli import register_cli as register_report_cli
    register_report_cli(sub, config_lib.add_config_arguments)

    schema = sub.add_parser("schema", help="curated schema tools")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    p = schema_sub.add_parser(
        "propose", help="propose a curated-schema update from the latest inferred schema")
    p.add_argument("--inferred", help="inferred schema.pbtxt (default: latest SchemaGen output)")
    p.add_argument("--output", help="where to write the proposal "
                                    "(default: schema/schema.proposed.pbtxt)")
    p.add_argument("--apply", action="store_true",
                   help="replace the curated schema with the proposal after printing the diff")
    config_lib.add_config_arguments(p)
    p.set_defaults(func=cmd_schema_propose)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
