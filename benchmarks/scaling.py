"""How the pipeline's time grows with the data: one cold `taxi-pipeline run` per scale.

For each scale N (default 1 3 10) it writes one span holding N times the taxi rows
(data/taxi/synth.py: the 15,002 real rows plus N-1 jittered, resampled copies), then runs
`taxi-pipeline run --data-root <that span's root> --output-root <fresh folder>` as a child
process with the same train/eval steps and tuner settings at every scale, so only the data
grows. Per scale: wall seconds, exit code, the child's peak RSS and CPU (os.wait4), and each
component's state and seconds from MLMD.

    .venv/bin/python benchmarks/scaling.py [--scale 1 3 10] [--train-steps 1000]
        [--eval-steps 150] [--tuner-trials N] [--tuner-train-steps N] [--seed 0]
        [--output-root DIR] [--json PATH]
"""
import argparse
import datetime
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmark import (load_dataset_script, machine_info, mlmd_summary, run_child,  # noqa: E402
                       venv_bin)
from tabflow import config as config_lib  # noqa: E402  (light: no TFX import)


def parse_args(argv=None) -> argparse.Namespace:
    defaults = config_lib.from_sources()  # field defaults and TAXI_* variables
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=int, nargs="+", default=[1, 3, 10],
                   help="data sizes as multiples of the 15,002 taxi rows (default: 1 3 10)")
    p.add_argument("--train-steps", type=int, default=1000)
    p.add_argument("--eval-steps", type=int, default=150)
    p.add_argument("--tuner-trials", type=int, default=defaults.training.tuner_trials)
    p.add_argument("--tuner-train-steps", type=int, default=defaults.training.tuner_train_steps)
    p.add_argument("--seed", type=int, default=0, help="noise seed of the synthetic rows")
    p.add_argument("--output-root", help="folder for the scaled data and one pipeline output "
                                         "root per scale (default: a new folder "
                                         "outputs/benchmark/scaling-<timestamp>); kept")
    p.add_argument("--json", help="results file "
                                  "(default: outputs/benchmark/scaling-<timestamp>.json)")
    p.add_argument("--resume", metavar="JSON",
                   help="continue an earlier invocation: keep its finished scales (exit 0), run "
                        "the other requested ones into the same output root, rewrite this file")
    return p.parse_args(argv)


def pipeline_command(args: argparse.Namespace, output_root: str, data_root: str) -> List[str]:
    return [venv_bin("taxi-pipeline"), "run", "--data-root", data_root,
            "--output-root", output_root,
            "--train-steps", str(args.train_steps), "--eval-steps", str(args.eval_steps),
            "--tuner-trials", str(args.tuner_trials),
            "--tuner-train-steps", str(args.tuner_train_steps)]


def cpu_seconds(r: Dict[str, Any]) -> float:
    return r["user_cpu_seconds"] + r["system_cpu_seconds"]


def count_rows(data_root: str) -> int:
    with open(Path(data_root) / "span-1" / "data.csv", "rb") as f:
        return sum(1 for _ in f) - 1


def run_scale(scale: int, args: argparse.Namespace, base: Path) -> Dict[str, Any]:
    print(f"\n=== scale {scale}x ===", flush=True)
    output_root = str(base / f"{scale}x")
    config = config_lib.from_sources(output_root=output_root, train_steps=args.train_steps,
                                     eval_steps=args.eval_steps,
                                     tuner_trials=args.tuner_trials,
                                     tuner_train_steps=args.tuner_train_steps)
    start = time.perf_counter()
    data_root = load_dataset_script("synth").scaled_copy(
        config.data.data_root, base / f"data-{scale}x", scale, args.seed)
    synth_seconds = time.perf_counter() - start
    rows = count_rows(data_root)
    print(f"    {rows} rows in {data_root} ({synth_seconds:.1f} s to write)", flush=True)
    cmd = pipeline_command(args, output_root, data_root)
    result: Dict[str, Any] = {"scale": scale, "rows": rows, "data_root": data_root,
                              "synth_seconds": round(synth_seconds, 2),
                              "output_root": output_root, "command": cmd}
    result.update(run_child(cmd))
    result["mlmd"] = mlmd_summary(config, None)
    return result


def _cell(v: Any, width: int) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:>{width}.1f}"


def print_table(results: List[Dict[str, Any]]) -> None:
    scales = [r["scale"] for r in results]
    nodes: List[str] = []
    for r in results:
        for c in r["mlmd"]["components"]:
            if c["node_id"] not in nodes:
                nodes.append(c["node_id"])

    def seconds(r: Dict[str, Any], node: str) -> Any:
        return next((c["seconds"] for c in r["mlmd"]["components"] if c["node_id"] == node),
                    None)

    head = f"  {'seconds':<32}" + "".join(f"{str(s) + 'x':>9}" for s in scales) + "".join(
        f"{f'{s}x/{scales[0]}x':>9}" for s in scales[1:])
    print("\n=== scaling ===")
    print(head)

    def line(label: str, values: List[Any]) -> None:
        cells = "".join(_cell(v, 9) for v in values)
        ratios = "".join(
            f"{'-':>9}" if (v is None or not values[0]) else f"{v / values[0]:>9.2f}"
            for v in values[1:])
        print(f"  {label:<32}{cells}{ratios}")

    for node in nodes:
        line(node, [seconds(r, node) for r in results])
    line("sum of components", [sum(c["seconds"] or 0 for c in r["mlmd"]["components"])
                               for r in results])
    line("wall (whole process)", [r["wall_seconds"] for r in results])
    line("CPU (user+system)", [cpu_seconds(r) for r in results])
    line("peak RSS MB", [r["peak_rss_mb"] for r in results])
    print(f"  {'rows':<32}" + "".join(f"{r['rows']:>9}" for r in results))
    print(f"  {'exit code':<32}" + "".join(f"{r['exit_code']:>9}" for r in results))


def main(argv=None) -> int:
    args = parse_args(argv)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    previous: Dict[str, Any] = {}
    if args.resume:
        previous = json.loads(Path(args.resume).read_text())
        args.output_root, args.json = previous["output_root"], args.resume
        for key in ("train_steps", "eval_steps", "tuner_trials", "tuner_train_steps", "seed"):
            setattr(args, key, previous["settings"][key])  # same settings at every scale
    base = Path(args.output_root or PROJECT_ROOT / "outputs" / "benchmark" / f"scaling-{stamp}")
    done = [r for r in previous.get("scales", []) if r["exit_code"] == 0]
    for scale in args.scale:
        if scale not in [r["scale"] for r in done] and (base / f"{scale}x").exists():
            shutil.rmtree(base / f"{scale}x")  # an unfinished run's leftovers
            shutil.rmtree(base / f"data-{scale}x", ignore_errors=True)
    if not args.resume and base.exists() and any(base.iterdir()):
        raise SystemExit(f"{base} is not empty: every scale needs a fresh output root")
    json_path = Path(args.json or PROJECT_ROOT / "outputs" / "benchmark"
                     / f"scaling-{stamp}.json")
    print(f"Scaling output root: {base} (kept after the benchmark)")
    results: Dict[str, Any] = {
        "started": datetime.datetime.now().isoformat(timespec="seconds"),
        "settings": {"scales": args.scale, "train_steps": args.train_steps,
                     "eval_steps": args.eval_steps, "tuner_trials": args.tuner_trials,
                     "tuner_train_steps": args.tuner_train_steps, "seed": args.seed},
        "output_root": str(base),
        "machine": machine_info(),
        "scales": done,
    }
    if previous:
        results["started"] = previous["started"]
        results["settings"]["scales"] = sorted(set(previous["settings"]["scales"])
                                               | set(args.scale))
    json_path.parent.mkdir(parents=True, exist_ok=True)
    for scale in args.scale:
        if scale in [r["scale"] for r in results["scales"]]:
            continue
        results["scales"].append(run_scale(scale, args, base))
        results["scales"].sort(key=lambda r: r["scale"])
        json_path.write_text(json.dumps(results, indent=2) + "\n")  # partial results survive
        print_table(results["scales"])
    print(f"\n  results JSON:  {json_path}")
    print(f"  output root:   {base}")
    return 0 if all(r["exit_code"] == 0 for r in results["scales"]) else 1


if __name__ == "__main__":
    sys.exit(main())
