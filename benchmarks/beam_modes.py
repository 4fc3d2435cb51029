"""Compare Beam execution modes: the same pipeline run cold under each beam_preset.

Each preset gets its own fresh output root and runs with caching off as a separate
`taxi-pipeline run --beam-preset <preset>` process, so every component executes and the process
pays its own start-up. Recorded per run: wall seconds, exit code, CPU seconds and peak RSS from
os.wait4, the peak summed RSS of the whole process tree (sampled; the multi-process DirectRunner
forks SDK workers, whose memory os.wait4's figure does not add up), and each component's
seconds from MLMD.

    .venv/bin/python benchmarks/beam_modes.py [--presets direct direct-multiprocess]
        [--rounds N] [--train-steps N] [--eval-steps N] [--tuner-trials N]
        [--tuner-train-steps N] [--runner local|beam] [--output-root DIR] [--json PATH]

Rounds alternate the presets (a b a b ...) so that a noisy neighbour on the machine hits both.
"""
import argparse
import datetime
import json
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List

import psutil

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))

from benchmark import PROJECT_ROOT, machine_info, mlmd_summary, run_child  # noqa: E402
from tabflow import config as config_lib  # noqa: E402  (light: no TFX import)

# Components whose executors run Beam pipelines: where the preset can make a difference.
BEAM_COMPONENTS = ["CsvExampleGen", "StatisticsGen", "Transform", "Evaluator"]
SAMPLE_SECONDS = 0.5


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--presets", nargs="+", default=["direct", "direct-multiprocess"])
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--train-steps", type=int, default=300)
    p.add_argument("--eval-steps", type=int, default=50)
    p.add_argument("--tuner-trials", type=int, default=1)
    p.add_argument("--tuner-train-steps", type=int, default=100)
    p.add_argument("--runner", choices=["local", "beam"], default="local",
                   help="taxi-pipeline --runner: the orchestrator the presets run under")
    p.add_argument("--output-root", help="parent of one output root per run (default: "
                                         "outputs/beam_modes/<timestamp>); kept afterwards")
    p.add_argument("--json", help="results file "
                                  "(default: outputs/beam_modes/beam_modes-<timestamp>.json)")
    return p.parse_args(argv)


def command(args: argparse.Namespace, preset: str, output_root: str) -> List[str]:
    exe = Path(sys.executable).parent / "taxi-pipeline"
    if not exe.exists():
        raise SystemExit(f"{exe} not found: run with the project's venv python")
    return [str(exe), "run", "--runner", args.runner, "--beam-preset", preset,
            "--enable-cache", "false", "--output-root", output_root,
            "--train-steps", str(args.train_steps), "--eval-steps", str(args.eval_steps),
            "--tuner-trials", str(args.tuner_trials),
            "--tuner-train-steps", str(args.tuner_train_steps)]


class TreeRssSampler:
    """Peak of the summed RSS of the child and all its descendants, sampled in a thread."""

    def __init__(self):
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self) -> int:
        total = 0
        for proc in psutil.Process().children(recursive=True):
            try:
                total += proc.memory_info().rss
            except psutil.Error:  # exited between listing and reading
                pass
        return total

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak_mb = max(self.peak_mb, self._tree_rss() / 2**20)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def measure(args: argparse.Namespace, preset: str, output_root: str) -> Dict[str, Any]:
    # Same sources as the child (TAXI_* variables, then its flags), so MLMD is found.
    config = config_lib.from_sources(output_root=output_root, beam_preset=preset,
                                     enable_cache=False)
    if config.store.mysql_host:
        raise SystemExit("beam_modes needs a fresh SQLite store per run: unset TAXI_MYSQL_HOST")
    cmd = command(args, preset, output_root)
    print(f"\n=== {preset}: {' '.join(cmd)}", flush=True)
    with TreeRssSampler() as sampler:
        result = run_child(cmd)
    result.update(preset=preset, output_root=output_root,
                  peak_tree_rss_mb=round(sampler.peak_mb, 1),
                  mlmd=mlmd_summary(config, previous_run_id=None))
    print_run(result)
    return result


def _component_seconds(run: Dict[str, Any]) -> Dict[str, float]:
    return {c["node_id"]: c["seconds"] for c in run["mlmd"]["components"]
            if c["seconds"] is not None}


def print_run(r: Dict[str, Any]) -> None:
    cpu = r["user_cpu_seconds"] + r["system_cpu_seconds"]
    print(f"--- {r['preset']}: exit {r['exit_code']}, wall {r['wall_seconds']:.1f} s, "
          f"CPU {cpu:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB (largest process), "
          f"{r['peak_tree_rss_mb']:.0f} MB (process tree)")
    for node, seconds in _component_seconds(r).items():
        mark = " (Beam)" if node in BEAM_COMPONENTS else ""
        print(f"    {node:<32} {seconds:8.1f}{mark}")


def summarize(runs: List[Dict[str, Any]], presets: List[str]) -> Dict[str, Any]:
    """Per preset: median wall, Beam-component seconds and peaks over its successful rounds."""
    def median(xs):
        xs = sorted(xs)
        return None if not xs else round((xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]) / 2, 2)

    out = {}
    for preset in presets:
        ok = [r for r in runs if r["preset"] == preset and r["exit_code"] == 0]
        beam = [sum(s for n, s in _component_seconds(r).items() if n in BEAM_COMPONENTS)
                for r in ok]
        out[preset] = {
            "successful_runs": len(ok),
            "failed_runs": sum(1 for r in runs if r["preset"] == preset) - len(ok),
            "median_wall_seconds": median([r["wall_seconds"] for r in ok]),
            "median_beam_component_seconds": median(beam),
            "median_cpu_seconds": median([r["user_cpu_seconds"] + r["system_cpu_seconds"]
                                          for r in ok]),
            "max_peak_rss_mb": max((r["peak_rss_mb"] for r in ok), default=None),
            "max_peak_tree_rss_mb": max((r["peak_tree_rss_mb"] for r in ok), default=None),
        }
    return out


def print_summary(summary: Dict[str, Any]) -> None:
    print("\n=== summary (medians over rounds) ===")
    print(f"  {'preset':<22} {'runs':>4} {'wall s':>8} {'Beam comps s':>13} {'CPU s':>7} "
          f"{'RSS MB':>7} {'tree RSS MB':>12}")
    for preset, s in summary.items():
        def f(v, spec):
            return "-" if v is None else format(v, spec)
        print(f"  {preset:<22} {s['successful_runs']:>4} {f(s['median_wall_seconds'], '8.1f')} "
              f"{f(s['median_beam_component_seconds'], '13.1f')} "
              f"{f(s['median_cpu_seconds'], '7.1f')} {f(s['max_peak_rss_mb'], '7.0f')} "
              f"{f(s['max_peak_tree_rss_mb'], '12.0f')}")


def main(argv=None) -> int:
    args = parse_args(argv)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(args.output_root or PROJECT_ROOT / "outputs" / "beam_modes" / stamp).resolve()
    json_path = Path(args.json or PROJECT_ROOT / "outputs" / "beam_modes"
                     / f"beam_modes-{stamp}.json")
    print(f"Output roots under {base} (kept after the benchmark)")
    runs = []
    for round_ in range(1, args.rounds + 1):
        for preset in args.presets:
            output_root = base / f"{preset}-{round_}"
            if output_root.exists():
                raise SystemExit(f"{output_root} exists: each run needs a fresh output root")
            runs.append({"round": round_, **measure(args, preset, str(output_root))})
    summary = summarize(runs, args.presets)
    print_summary(summary)
    results = {
        "started": stamp,
        "settings": {k: v for k, v in vars(args).items() if k not in ("json", "output_root")},
        "machine": machine_info(),
        "runs": runs,
        "summary": summary,
        "note": "peak_rss_mb is os.wait4's ru_maxrss: the largest single process of the tree. "
                "peak_tree_rss_mb is the sampled sum over the child and its descendants.",
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n  results JSON: {json_path}")
    return 0 if all(r["exit_code"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
