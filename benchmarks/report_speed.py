"""How long `taxi-pipeline report` takes, and its memory, on an existing store of real runs.

Runs the report command as a separate process --reps times for each run id asked for (default:
latest and previous) on --output-root (default outputs/, i.e. what `./dev run` wrote), and
prints per run: wall seconds (p50 / max), the child's peak RSS, the page's size and how many
charts and lineage nodes it holds. Writes JSON (default
outputs/benchmark/report-<timestamp>.json). Figures are measured, not judged.

    .venv/bin/python benchmarks/report_speed.py [--output-root DIR] [--runs latest previous]
        [--reps 5] [--json PATH]
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def one_report(output_root: str, run: str, path: str):
    start = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "tabflow.console", "report", run, "--output", path,
         "--output-root", output_root],
        cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - start
    stdout, stderr = process.stdout.read(), process.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"report {run} failed ({code}): {stderr.strip() or stdout.strip()}")
    return seconds, usage.ru_maxrss / 1024.0, stdout.strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-root", default=str(PROJECT_ROOT / "outputs"))
    parser.add_argument("--runs", nargs="+", default=["latest", "previous"])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in args.runs:
            path = os.path.join(tmp, f"{run}.html")
            times, rss, line = [], [], ""
            for _ in range(args.reps):
                seconds, peak_mb, line = one_report(args.output_root, run, path)
                times.append(seconds)
                rss.append(peak_mb)
            page = Path(path).read_text()
            results.append({
                "run": run, "summary": line, "reps": args.reps,
                "wall_p50_s": statistics.median(times), "wall_max_s": max(times),
                "peak_rss_mb": max(rss), "page_kb": len(page.encode()) / 1024.0,
                "charts": page.count('class="chart"'),
                "lineage_nodes": page.count("<g id="),
            })

    print(f"{'run':<12} {'wall p50 s':>10} {'max s':>7} {'peak RSS MB':>12} {'page KB':>8} "
          f"{'charts':>7} {'lineage nodes':>14}")
    for r in results:
        print(f"{r['run']:<12} {r['wall_p50_s']:>10.2f} {r['wall_max_s']:>7.2f} "
              f"{r['peak_rss_mb']:>12.0f} {r['page_kb']:>8.0f} {r['charts']:>7} "
              f"{r['lineage_nodes']:>14}")
        print(f"  {r['summary']}")
    stamp = datetime.datetime.now().strftime("%Y%m%dT%H%M%S")
    out = args.json or str(PROJECT_ROOT / "outputs" / "benchmark" / f"report-{stamp}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"output_root": args.output_root, "python": sys.version,
                   "machine": platform.platform(), "cpus": os.cpu_count(),
                   "results": results}, f, indent=2)
    print(f"JSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
