"""Benchmark the taxi pipeline as a user runs it: three `taxi-pipeline run` processes in a row.

Run 1 is cold (fresh output root), runs 2 and 3 repeat it with identical settings (run 3 is
expected to be fully cached). For each run: wall seconds, the child's own peak RSS (os.wait4),
exit code, and from MLMD each component's state and seconds plus the store's artifact count.

    .venv/bin/python benchmarks/benchmark.py [--train-steps N] [--eval-steps N]
        [--tuner-trials N] [--tuner-train-steps N] [--output-root DIR] [--json PATH]
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from pipeline import config as config_lib  # noqa: E402  (light: no TFX import)
from pipeline.config import PipelineConfig  # noqa: E402

RUN_LABELS = ["cold", "repeat", "repeat (expect fully cached)"]

# From /work/shared/STACK.md: NOT measured by this script, shown for comparison only.
TEMPLATE_REFERENCE = {
    "note": "reference only, not measured here: TFX taxi template on LocalDagRunner, caching off, "
            "same machine kind (Debian 12, 2 cores), from /work/shared/STACK.md",
    "train_steps": 1000,
    "eval_steps": 150,
    "wall_seconds": [59, 83, 88],
    "peak_rss_gb": [1.1, 1.2],
    "component_seconds_quietest_run": {"ExampleGen": 4, "StatisticsGen": 3, "Transform": 9,
                                       "Trainer": 14, "Evaluator": 4},
}


def parse_args(argv=None) -> argparse.Namespace:
    defaults = config_lib.from_sources()  # field defaults and TAXI_* variables
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train-steps", type=int, default=1000)
    p.add_argument("--eval-steps", type=int, default=150)
    p.add_argument("--tuner-trials", type=int, default=defaults.training.tuner_trials)
    p.add_argument("--tuner-train-steps", type=int, default=defaults.training.tuner_train_steps)
    p.add_argument("--data", choices=["all", "latest-span"], default="all",
                   help="all (default): every span as one, the 15,002 rows the TFX template "
                        "reads; latest-span: what `taxi-pipeline run` reads by default")
    p.add_argument("--output-root", help="pipeline output root (default: a new folder "
                                         "outputs/benchmark/<timestamp>); kept afterwards")
    p.add_argument("--json", help="results file "
                                  "(default: outputs/benchmark/benchmark-<timestamp>.json)")
    return p.parse_args(argv)


def all_spans_as_one(data_root: str, folder: Path) -> str:
    """A data root whose single span holds every row of every span, as the template reads."""
    target = folder / "span-1" / "data.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w") as out:
        for i, path in enumerate(sorted(Path(data_root).glob("span-*/*.csv"))):
            lines = path.read_text().splitlines(keepends=True)
            out.writelines(lines if i == 0 else lines[1:])
    return str(folder)


def taxi_pipeline_command(args: argparse.Namespace, output_root: str,
                          data_root: Optional[str] = None) -> List[str]:
    exe = Path(sys.executable).parent / "taxi-pipeline"
    if not exe.exists():
        raise SystemExit(f"{exe} not found: run with the project's venv python")
    extra = ["--data-root", data_root] if data_root else []
    return [str(exe), "run", *extra,
            "--output-root", output_root,
            "--train-steps", str(args.train_steps),
            "--eval-steps", str(args.eval_steps),
            "--tuner-trials", str(args.tuner_trials),
            "--tuner-train-steps", str(args.tuner_train_steps)]


def run_child(cmd: List[str]) -> Dict[str, Any]:
    """Run cmd with inherited stdout/stderr; wall seconds, exit code and its own peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, tell Popen
    return {
        "wall_seconds": round(wall, 2),
        "exit_code": proc.returncode,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "user_cpu_seconds": round(usage.ru_utime, 2),
        "system_cpu_seconds": round(usage.ru_stime, 2),
    }


def store_exists(config: PipelineConfig) -> bool:
    # connect() would create an empty SQLite store: do not let it before the cold run.
    return bool(config.store.mysql_host) or os.path.exists(config.store.metadata_path)


def artifact_count(config: PipelineConfig) -> int:
    if not store_exists(config):
        return 0
    from metadata.store import open_store
    return len(open_store(config.store).get_artifacts())


def mlmd_summary(config: PipelineConfig, previous_run_id: Optional[str]) -> Dict[str, Any]:
    """Per-component state and seconds of the latest pipeline run recorded in MLMD."""
    from metadata import runs
    from metadata.errors import NotFound
    from metadata.store import open_store
    if not store_exists(config):
        return {"run_id": None, "components": [], "executed": 0, "cached": 0, "resolvers": 0,
                "other": 0}
    store = open_store(config.store)
    try:
        run_id = runs.resolve_run(store, config.pipeline_name, runs.LATEST).run_id
    except NotFound:
        run_id = None
    if run_id is None or run_id == previous_run_id:
        return {"run_id": None, "components": [], "executed": 0, "cached": 0, "resolvers": 0,
                "other": 0,
                "note": "no new pipeline_run context in MLMD for this run"}
    components = [{"node_id": r.node_id, "type": r.type_name, "state": r.state,
                   "seconds": None if r.seconds is None else round(r.seconds, 2)}
                  for r in runs.run_executions(store, config.pipeline_name, run_id)]
    # A Resolver runs (COMPLETE) on every run, cached or not: count it apart from components.
    is_resolver = [c["type"].endswith(".Resolver") for c in components]
    states = [c["state"] for c, r in zip(components, is_resolver) if not r]
    executed = states.count("COMPLETE")
    cached = states.count("CACHED")
    return {"run_id": run_id, "components": components, "executed": executed,
            "cached": cached, "resolvers": sum(is_resolver),
            "other": len(states) - executed - cached}


def benchmark_run(index: int, args: argparse.Namespace, config: PipelineConfig,
                  previous_run_id: Optional[str], data_root: Optional[str]) -> Dict[str, Any]:
    label = RUN_LABELS[index]
    print(f"\n=== run {index + 1}/3: {label} ===", flush=True)
    before = artifact_count(config)
    result = {"run": index + 1, "label": label, "artifacts_before": before}
    result.update(run_child(taxi_pipeline_command(args, config.output_root, data_root)))
    result["artifacts_after"] = artifact_count(config)
    result["mlmd"] = mlmd_summary(config, previous_run_id)
    print_run_table(result)
    return result


def _fmt_seconds(s: Optional[float]) -> str:
    return "-" if s is None else f"{s:.1f}"


def print_run_table(r: Dict[str, Any]) -> None:
    m = r["mlmd"]
    print(f"\n--- run {r['run']} ({r['label']}): exit {r['exit_code']}, "
          f"wall {r['wall_seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB, "
          f"CPU {r['user_cpu_seconds'] + r['system_cpu_seconds']:.1f} s")
    print(f"    MLMD run: {m['run_id'] or m.get('note', 'none')}")
    print(f"    {'component':<30} {'state':<10} {'seconds':>8}")
    for c in m["components"]:
        print(f"    {c['node_id']:<30} {c['state']:<10} {_fmt_seconds(c['seconds']):>8}")
    component_total = sum(c["seconds"] or 0 for c in m["components"])
    print(f"    {'sum of components':<30} {'':<10} {component_total:>8.1f}")
    print(f"    executed {m['executed']}, cached {m['cached']}, other {m['other']} "
          f"(+{m['resolvers']} resolver); "
          f"artifacts in store {r['artifacts_before']} -> {r['artifacts_after']}")


def print_summary(results: Dict[str, Any]) -> None:
    print("\n=== summary ===")
    print(f"  settings: {results['settings']}")
    print(f"  {'run':<32} {'exit':>4} {'wall s':>8} {'peak RSS MB':>12} "
          f"{'executed':>9} {'cached':>7} {'artifacts':>10}")
    for r in results["runs"]:
        m = r["mlmd"]
        print(f"  {str(r['run']) + ' ' + r['label']:<32} {r['exit_code']:>4} "
              f"{r['wall_seconds']:>8.1f} {r['peak_rss_mb']:>12.0f} {m['executed']:>9} "
              f"{m['cached']:>7} {r['artifacts_before']:>4} -> {r['artifacts_after']:<4}")
    ref = results["reference_not_measured"]
    print(f"  reference (NOT measured; TFX taxi template, {ref['train_steps']} train / "
          f"{ref['eval_steps']} eval steps, caching off): wall "
          f"{'/'.join(map(str, ref['wall_seconds']))} s, peak RSS "
          f"{ref['peak_rss_gb'][0]}-{ref['peak_rss_gb'][1]} GB")


def machine_info() -> Dict[str, Any]:
    return {"nproc": os.cpu_count(), "platform": platform.platform(),
            "machine": platform.machine(), "python": platform.python_version()}


def main(argv=None) -> int:
    args = parse_args(argv)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    output_root = args.output_root or str(PROJECT_ROOT / "outputs" / "benchmark" / stamp)
    # Same sources as the child (TAXI_* variables, then these flags), so MLMD is found.
    config = config_lib.from_sources(output_root=output_root, train_steps=args.train_steps,
                                     eval_steps=args.eval_steps, tuner_trials=args.tuner_trials,
                                     tuner_train_steps=args.tuner_train_steps)
    if not config.store.mysql_host and os.path.exists(config.store.metadata_path):
        raise SystemExit(f"{config.store.metadata_path} exists: the cold run needs a fresh "
                         f"output root")
    json_path = Path(args.json or PROJECT_ROOT / "outputs" / "benchmark"
                     / f"benchmark-{stamp}.json")
    print(f"Benchmark output root: {config.output_root} (kept after the benchmark)")
    data_root = None
    if args.data == "all":
        data_root = all_spans_as_one(config.data.data_root, Path(config.output_root) / "data")

    results: Dict[str, Any] = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "settings": {"data": args.data, "train_steps": args.train_steps,
                     "eval_steps": args.eval_steps, "tuner_trials": args.tuner_trials,
                     "tuner_train_steps": args.tuner_train_steps},
        "output_root": config.output_root,
        "command": taxi_pipeline_command(args, config.output_root, data_root),
        "machine": machine_info(),
        "runs": [],
        "reference_not_measured": TEMPLATE_REFERENCE,
    }
    previous_run_id = None
    for i in range(3):
        run = benchmark_run(i, args, config, previous_run_id, data_root)
        results["runs"].append(run)
        previous_run_id = run["mlmd"]["run_id"] or previous_run_id

    print_summary(results)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n  results JSON:  {json_path}")
    print(f"  output root:   {config.output_root}")
    print(f"  pipeline log:  {config.log_file}")
    return 0 if all(r["exit_code"] == 0 for r in results["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
