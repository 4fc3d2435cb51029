"""`tabflow models | promote | rollback | gc`: the served model's versions, its aliases,
and retention (registry/)."""
import json
import os
import sys

from tabflow.console.settings import add_config_arguments
from tabflow import config as config_lib
from tabflow import contract as C

SECTIONS = ("store",)
WAIT_SECONDS = 30.0


def _store(args, writable: bool):
    from tabflow.metadata.store import open_store
    config = config_lib.from_sources(args)
    return config, open_store(config.store, readonly=not writable)


def format_versions(rows, serving_dir: str) -> str:
    if not rows:
        return f"No version was pushed to {serving_dir}."
    # The newest version's metric names the column (every version of a pipeline has the
    # same, unless its dataset changed problem type: the cell then names its own).
    titles = [v.test_title for v in rows if v.test_title]
    title = titles[-1] if titles else "metric"
    header = ("version", "aliases", "run", "span", f"test {title}", "beat", "pushed at", "files")
    lines = [header]
    for v in rows:
        aliases = ",".join(v.aliases) or "-"
        if v.override:
            aliases += " (OVERRIDE)"
        lines.append((str(v.version), aliases, v.run_id or "-",
                      "-" if v.span is None else str(v.span),
                      "-" if v.test_value is None else f"{v.test_value:.4f}"
                      + ("" if v.test_title == title else f" ({v.test_title})"),
                      "-" if v.baseline_version is None else str(v.baseline_version),
                      v.pushed_at, "yes" if v.files_exist else "removed"))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    out = [f"Versions in {serving_dir} (oldest first):"]
    out += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
            for row in lines]
    overrides = [v for v in rows if v.override]
    for v in overrides:
        out.append(f"  version {v.version}: BLESSING OVERRIDE: {v.override_reason}")
    return "\n".join(out)


def format_history(events) -> str:
    if not events:
        return "No alias has changed yet."
    lines = ["Alias changes (oldest first):"]
    for e in events:
        who = f" by {e['user']}" if e["user"] else ""
        why = f": {e['reason']}" if e["reason"] else ""
        lines.append(f"  {e['time']}  {e['alias']} -> {e['version']}  ({e['action']}{who}){why}")
    return "\n".join(lines)


def _print_notes(lines) -> None:
    for line in lines:
        print(line, file=sys.stderr)


def _settle(store, serving_dir: str, what: str, wait_seconds: float) -> None:
    """Settles and reports what a killed push, promote or rollback left (tabflow/registry/journal.py)."""
    from tabflow.registry import consistency, serving
    from tabflow.registry.lock import serving_lock
    if not serving.is_local(serving_dir) or not os.path.isdir(serving_dir):
        return
    with serving_lock(serving_dir, what, wait_seconds):
        _print_notes(consistency.settle(store, serving_dir))


def cmd_models(args) -> int:
    from tabflow.registry import catalog
    config, store = _store(args, writable=False)
    _settle(store, config.serving_dir, "models", args.wait)
    rows = catalog.versions(store, config.pipeline_name, config.serving_dir,
                            newest=None if args.all else args.last)
    events = catalog.history(store, config.serving_dir) if args.history else None
    if args.json:
        out = {"serving_dir": config.serving_dir, "versions": [v.to_json() for v in rows]}
        if events is not None:
            out["history"] = events
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    print(format_versions(rows, config.serving_dir))
    if not args.all and len(rows) >= args.last:
        print(f"  (the newest {args.last} and every aliased version; --all lists every one)")
    if events is not None:
        print()
        print(format_history(events))
    return 0


def cmd_promote(args) -> int:
    from tabflow.registry import aliases
    config, store = _store(args, writable=True)
    change = aliases.promote(store, config.pipeline_name, config.serving_dir, args.target,
                             alias=args.alias, reason=args.reason or "", force=args.force,
                             wait_seconds=args.wait)
    _print_notes(change.notes)
    print(aliases.describe_change(change))
    return 0


def cmd_rollback(args) -> int:
    from tabflow.registry import aliases
    config, store = _store(args, writable=True)
    change = aliases.rollback(store, config.pipeline_name, config.serving_dir, to=args.to,
                              alias=args.alias, reason=args.reason or "",
                              exclude_span=args.exclude_span, wait_seconds=args.wait)
    _print_notes(change.notes)
    print(aliases.describe_change(change))
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def cmd_gc(args) -> int:
    from tabflow.metadata import run_lock
    from tabflow.registry import consistency, retention
    from tabflow.registry.lock import current_user
    from tabflow.registry.lock import serving_lock
    if args.keep_runs < 0 or args.keep_versions < 0:
        raise ValueError("--keep-runs and --keep-versions must be 0 or more")
    config, store = _store(args, writable=not args.dry_run)

    def make_plan():
        return retention.plan(store, config.pipeline_name, config.pipeline_root,
                              config.serving_dir, args.keep_runs, args.keep_versions,
                              force=args.force)

    if args.dry_run:
        _print_notes(consistency.report(store, config.serving_dir))
        _show_gc_plan(args, config, make_plan())
        return 0
    # Planned under both locks, so nothing a run, push or promote changed meanwhile is deleted:
    # the run lock keeps Local and Beam runs (which read cached artifacts) out, the serving
    # folder's lock pushes, promotes and rollbacks.
    with run_lock.held(config.store, config.pipeline_name, f"gc by {current_user()}",
                       args.wait), \
            serving_lock(config.serving_dir, "gc", args.wait):
        _print_notes(consistency.settle(store, config.serving_dir))
        plan = make_plan()
        if not _show_gc_plan(args, config, plan):
            return 0
        applied = len(plan.skipped)
        freed = retention.apply(store, config.serving_dir, plan)
    for skip in plan.skipped[applied:]:
        print(f"  skipped #{skip.artifact_id} {skip.uri}: {skip.reason}")
    print(f"Freed {_size(freed)} ({freed} bytes). The removed artifacts keep their MLMD "
          f"records (state DELETED, {C.FILES_REMOVED_PROPERTY}).")
    return 0


def _show_gc_plan(args, config, plan) -> bool:
    """Prints the plan; returns whether it removes anything."""
    verb = "would remove" if args.dry_run else "removing"
    by_type = {}
    for r in plan.artifacts:
        count, size = by_type.get(r.type_name, (0, 0))
        by_type[r.type_name] = (count + 1, size + r.bytes)
    print(f"gc of {config.pipeline_root} and {config.serving_dir} "
          f"(keeping the newest {args.keep_runs} run(s), the newest {args.keep_versions} "
          f"version(s) and every aliased one: {', '.join(map(str, plan.kept_versions)) or 'none'})")
    for type_name, (count, size) in sorted(by_type.items()):
        print(f"  {verb} {count} {type_name} artifact(s), {_size(size)}")
    for version in plan.versions:
        print(f"  {verb} serving version {version}, {_size(plan.version_bytes[version])}")
    if args.verbose:
        for r in plan.artifacts:
            print(f"    #{r.artifact_id} {r.type_name} from run {r.run_id or '?'}: {r.uri} "
                  f"({_size(r.bytes)})")
    for skip in plan.skipped:
        print(f"  skipped #{skip.artifact_id} {skip.uri}: {skip.reason}")
    if plan.skipped:
        print(f"  skipped {len(plan.skipped)} artifact(s) gc may not delete")
    if not plan.artifacts and not plan.versions:
        print("  nothing to remove")
        return False
    if args.dry_run:
        print(f"Would free {_size(plan.bytes)} ({plan.bytes} bytes); nothing was removed "
              f"(run without --dry-run to remove).")
        return False
    return True


def _add_wait(p) -> None:
    p.add_argument("--wait", type=float, default=WAIT_SECONDS, metavar="SECONDS",
                   help="how long to wait for a run, push, promote or gc holding the lock "
                        "this command needs (default %(default)g)")


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="every pushed version: run, span, test value of "
                                             "the gated metric, baseline, aliases, files")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--history", action="store_true",
                   help="also list every alias change (what served when)")
    p.add_argument("--last", type=int, default=20, metavar="N",
                   help="list the newest N versions and every aliased one (default %(default)s)")
    p.add_argument("--all", action="store_true", help="list every version")
    _add_wait(p)
    add_config_arguments(p, SECTIONS)
    p.set_defaults(func=cmd_models)

    p = subparsers.add_parser("promote", help="point an alias (default: serving) at a version")
    p.add_argument("target", help="a version in the serving folder, or model:<artifact id>")
    p.add_argument("--alias", default=C.SERVING_ALIAS, help="default: %(default)s")
    p.add_argument("--reason", help="why (recorded in MLMD; required with --force)")
    p.add_argument("--force", action="store_true",
                   help="promote a model the Evaluator did not bless (a recorded override)")
    _add_wait(p)
    add_config_arguments(p, SECTIONS)
    p.set_defaults(func=cmd_promote)

    p = subparsers.add_parser("rollback", help="point an alias back at an earlier version")
    p.add_argument("--to", type=int, help="the version (default: the newest one older than "
                                          "the current that the alias pointed at before)")
    p.add_argument("--alias", default=C.SERVING_ALIAS, help="default: %(default)s")
    p.add_argument("--reason", help="why (recorded in MLMD)")
    p.add_argument("--exclude-span", type=int, metavar="N",
                   help="roll back to the newest version not trained on span N")
    _add_wait(p)
    add_config_arguments(p, SECTIONS)
    p.set_defaults(func=cmd_rollback)

    p = subparsers.add_parser("gc", help="remove old artifacts' files, keeping every aliased "
                                         "version's lineage")
    p.add_argument("--keep-runs", type=int, default=10, help="default: %(default)s")
    p.add_argument("--keep-versions", type=int, default=5, help="default: %(default)s")
    p.add_argument("--dry-run", action="store_true", help="say what would go; remove nothing")
    p.add_argument("--verbose", action="store_true", help="list every artifact")
    p.add_argument("--force", action="store_true",
                   help="collect even while a STALE run (another host's run that stopped "
                        "renewing its lease) is recorded")
    _add_wait(p)
    add_config_arguments(p, SECTIONS)
    p.set_defaults(func=cmd_gc)
