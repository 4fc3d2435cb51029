"""`tabflow schema propose`: a curated-schema update from the latest inferred schema."""
import os
import shutil
from pathlib import Path
from typing import Optional

from tabflow.console.settings import add_config_arguments, open_store
from tabflow import contract

# The curated schema (data) and the store the inferred one is looked up in.
SECTIONS = ("data", "store")


def latest_inferred_schema(args) -> str:
    """The newest run's SchemaGen schema file; NotFound when no run has inferred one."""
    from tabflow.metadata import runs
    from tabflow.metadata.errors import NotFound
    from tabflow.metadata.store import store_label
    config, store = open_store(args)
    artifact = runs.latest_output(store, config.pipeline_name, contract.SCHEMA_GEN,
                                  contract.SCHEMA_KEY)
    if artifact is None:
        raise NotFound(f"no {contract.SCHEMA_GEN} output in {store_label(config.store)}: "
                       f"run the pipeline first")
    return os.path.join(artifact.uri, contract.SCHEMA_FILE)


def latest_train_statistics(args) -> Optional[str]:
    """The newest run's StatisticsGen train-split statistics file, for the proposal's value
    constraints; None when no run has computed one."""
    from tabflow.metadata import runs
    config, store = open_store(args)
    artifact = runs.latest_output(store, config.pipeline_name, contract.STATISTICS_GEN,
                                  contract.STATISTICS_KEY)
    if artifact is None:
        return None
    path = os.path.join(artifact.uri, f"{contract.SPLIT_PREFIX}{contract.TRAIN_SPLIT}",
                        contract.STATISTICS_FILE)
    return path if os.path.isfile(path) else None


def cmd_propose(args) -> int:
    from tabflow import config as config_lib
    from pipeline import schema_proposal
    config = config_lib.from_sources(args)
    curated = config.data.schema_path
    inferred = args.inferred or latest_inferred_schema(args)
    statistics = args.statistics or (None if args.inferred else latest_train_statistics(args))
    out = args.output or str(Path(curated).with_suffix(".proposed.pbtxt"))
    changes = schema_proposal.write_proposal(curated, inferred, out, statistics)
    print(f"inferred schema: {inferred}")
    print(f"statistics:      {statistics or 'none (no value constraints proposed)'}")
    if not changes:
        print("The curated schema already covers the inferred one: nothing to propose.")
        return 0
    print("Proposed changes:")
    for change in changes:
        print(f"  - {change}")
    # Compare canonical texts so the curated file's review comments do not show as changes.
    old = schema_proposal.schema_to_text(schema_proposal.load_schema(curated))
    new = Path(out).read_text()
    print()
    print(schema_proposal.unified_diff(old, new, curated, out))
    if args.apply:
        shutil.copyfile(out, curated)
        print(f"Applied: {curated} now holds the proposal; its review comments are "
              f"gone, so check it with git diff and restore the ones still true.")
    else:
        print(f"Proposal written to {out}; the curated schema is unchanged. "
              f"Review it, then rerun with --apply to adopt it.")
    return 0


def register(subparsers) -> None:
    schema = subparsers.add_parser("schema", help="curated schema tools")
    sub = schema.add_subparsers(dest="schema_command", required=True)
    p = sub.add_parser(
        "propose", help="propose a curated-schema update from the latest inferred schema")
    p.add_argument("--inferred", help="inferred schema.pbtxt (default: latest SchemaGen output)")
    p.add_argument("--statistics", help="a StatisticsGen FeatureStats.pb the value constraints "
                                        "are proposed from (default: the latest run's train "
                                        "split, unless --inferred is given)")
    p.add_argument("--output", help="where to write the proposal (default: "
                                    "schema.proposed.pbtxt beside the curated schema)")
    p.add_argument("--apply", action="store_true",
                   help="replace the curated schema with the proposal after printing the diff")
    add_config_arguments(p, SECTIONS)
    p.set_defaults(func=cmd_propose)
