"""The `tabflow` console entry point: start a dataset folder from CSV data, run the
pipeline, print its configuration, ask the MLMD store about lineage, review a run, propose a
curated-schema update, serve it to Dagster or Prefect, compile for Kubeflow, list, promote and roll back the served model's
versions, collect old artifacts, draw the pipeline's health over its runs, and send a run's
outcome to the alerts channels."""
import argparse
import sys

from tabflow.console import (health, init, kubeflow, lineage, models, notify, report, run,
                             schema, serve)
from tabflow.metadata.errors import NotFound, StoreError
from tabflow import config as config_lib


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tabflow", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (init, run, serve, lineage, report, health, schema, kubeflow, models,
                    notify):
        command.register(sub)
    return parser


def main(argv=None) -> int:
    """Runs one subcommand. A mistake the user can fix is one line on stderr, never a
    traceback: exit 1 for an unknown run or artifact, 2 for a bad setting, an unusable store
    or a path that cannot be read or written."""
    args = build_parser().parse_args(argv)
    for warning in config_lib.unknown_env_variables():
        print(warning, file=sys.stderr)
    try:
        return args.func(args)
    except NotFound as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1
    except (StoreError, ValueError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a path the user gave that cannot be read or written
        where = f"{e.filename}: " if e.filename else ""
        print(f"ERROR: {where}{e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
