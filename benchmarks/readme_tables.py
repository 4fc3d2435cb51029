"""benchmarks/README.md's measured tables, written from the results JSON kept beside it.

`benchmark.py --readme` keeps its JSON as benchmarks/results/benchmark.json and calls
write_readme; run this file to write the tables again from the kept JSON. Nothing in the
section between the markers is typed by hand, and a test checks it matches the JSON.

    .venv/bin/python benchmarks/readme_tables.py [--check]
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
README = PROJECT_ROOT / "benchmarks" / "README.md"
RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "benchmark.json"
BEGIN = "<!-- written by benchmarks/readme_tables.py from benchmarks/results/benchmark.json -->"
END = "<!-- end of the written tables -->"
RUNS = ("cold", "unchanged rerun", "new span")
RSS = "pipeline (largest of its runs)"
TARGETS = {"cold": 1.0, "unchanged rerun": 0.25, "new span": 0.8, "peak RSS": 1.0}


def _ratio(row: Dict[str, Any]) -> str:
    if row["min"] == row["max"]:
        return f"{row['median']:.2f}"
    return f"{row['median']:.2f} ({row['min']:.2f}-{row['max']:.2f})"


def _seconds(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}"


def command(results: Dict[str, Any]) -> str:
    s = results["settings"]
    parts = [".venv/bin/python benchmarks/benchmark.py", f"--rounds {s['rounds']}"]
    if s.get("rounds_above_1x", s["rounds"]) != s["rounds"]:
        parts.append(f"--rounds-above-1x {s['rounds_above_1x']}")
    parts += ["--scale " + " ".join(str(n) for n in s["scale"]),
              f"--train-steps {s['train_steps']}", f"--eval-steps {s['eval_steps']}",
              f"--tuner-trials {s['tuner_trials']}",
              f"--tuner-train-steps {s['tuner_train_steps']}"]
    if s.get("skip_model_quality"):
        parts.append("--skip-model-quality")
    return " ".join(parts + ["--readme"])


def ratio_table(scales: List[Dict[str, Any]]) -> List[str]:
    lines = ["| scale | rows | rounds | template (s, median) | cold | unchanged rerun | new span "
             "| peak RSS |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for result in scales:
        summary = result["summary"]
        lines.append(
            f"| {result['scale']}x | {result['rows']:,} | {len(result['template_runs'])} | "
            f"{summary['anchor']['template_median_wall_seconds']:.1f} | "
            + " | ".join(_ratio(summary["wall_ratio"][run]) for run in RUNS)
            + f" | {_ratio(summary['peak_rss_ratio'][RSS])} |")
    lines.append("| target | | | | <= 1.00 (<= 0.80 above 1x) | <= 0.25 | <= 0.80 | <= 1.00 |")
    return lines


def component_table(result: Dict[str, Any]) -> List[str]:
    table = result["summary"]["component_median_seconds"]
    columns = ["template", "cold", "new span"]
    nodes = sorted({node for column in columns for node in table.get(column, {})},
                   key=lambda n: -max(table.get(c, {}).get(n, 0) for c in columns))
    lines = [f"| component ({result['scale']}x) | " + " | ".join(columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for node in nodes:
        if max(table.get(c, {}).get(node, 0) for c in columns) < 0.5:
            continue
        lines.append(f"| {node} | " + " | ".join(_seconds(table.get(c, {}).get(node))
                                                 for c in columns) + " |")
    wall = result["summary"]["wall_ratio"]
    anchor = result["summary"]["anchor"]["template_median_wall_seconds"]
    lines.append("| **whole process (wall)** | " + " | ".join(
        _seconds(anchor if c == "template" else wall[c]["median"] * anchor)
        for c in columns) + " |")
    return lines


def quality_lines(quality: Optional[Dict[str, Any]]) -> List[str]:
    if not quality or "error" in quality:
        return [f"Model comparison: {quality['error']}."] if quality else []
    names = ["overall"] + sorted({s for key in ("plain_script", "pipeline_model")
                                  for s, v in (quality.get(key) or {}).items()
                                  if s != "overall" and isinstance(v, dict)})
    lines = [f"Test split of the first scale's last round ({quality.get('test_rows', '?')} "
             "rows), AUC:", "",
             "| model | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, key in (("plain tf-keras script", "plain_script"),
                       ("the pipeline's blessed model", "pipeline_model")):
        scores = quality.get(key) or {}
        lines.append(f"| {label} | " + " | ".join(
            _seconds(None) if scores.get(n, {}).get("auc") is None
            else f"{scores[n]['auc']:.3f}" for n in names) + " |")
    return lines


def render(results: Dict[str, Any]) -> str:
    machine = results["machine"]
    load = machine.get("load_average_at_start")
    load = ("load average at start " + ", ".join(f"{x:.2f}" for x in load) if load
            else "load average not recorded")
    lines = [BEGIN, "",
             f"Commit {results.get('commit') or '?'}, started {results['started']}, "
             f"{machine['nproc']} cores, {load}:", "", "```",
             command(results), "```", "",
             "Ratio to the template's median wall seconds in the same invocation, median "
             "(min-max) over the rounds; peak RSS is the largest process of a pipeline round "
             "against the template's:", ""]
    lines += ratio_table(results["scales"])
    for result in results["scales"]:
        lines += ["", "Median seconds per executed component (MLMD), and the whole process:",
                  ""] + component_table(result)
    if results.get("recovered"):
        lines += ["", f"Recovered after the run: {results['recovered']}."]
    quality = quality_lines(results.get("model_quality"))
    if quality:
        lines += [""] + quality
    return "\n".join(lines + ["", END])


def section(text: str) -> str:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{README}: the markers of the written tables are missing")
    return text[start:end + len(END)]


def write_readme(results_path: Path = RESULTS, readme: Path = README) -> None:
    text = readme.read_text()
    rendered = render(json.loads(results_path.read_text()))
    readme.write_text(text.replace(section(text), rendered))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true",
                   help="only say whether the README matches the kept JSON")
    args = p.parse_args(argv)
    if args.check:
        same = section(README.read_text()) == render(json.loads(RESULTS.read_text()))
        print("README tables match the results JSON" if same else
              "README tables differ from the results JSON: run benchmarks/readme_tables.py")
        return 0 if same else 1
    write_readme()
    return 0


if __name__ == "__main__":
    sys.exit(main())
