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


# --- the model comparison (benchmarks/model_comparison.py) -----------------------------------

MODEL_COMPARISON_RESULTS = PROJECT_ROOT / "benchmarks" / "results" / "model_comparison.json"
MODEL_COMPARISON_BEGIN = ("<!-- written by benchmarks/readme_tables.py from "
                          "benchmarks/results/model_comparison.json -->")
MODEL_COMPARISON_END = "<!-- end of the model-comparison tables -->"
MODEL_TITLES = {"plain": "plain script", "pipeline": "pipeline",
                "ablation": "pipeline without derived inputs"}
COMPARISON_SPLITS = ("test", "eval")


def _metric(value: Optional[float], digits: int, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _mean_sd(row: Dict[str, Any], digits: int, signed: bool = False) -> str:
    """mean ± sd (min to max) of a spread; just the value when there is one."""
    if not row or row.get("mean") is None:
        return "-"
    text = _metric(row["mean"], digits, signed)
    if row.get("sd") is not None:
        text += f" ± {row['sd']:.{digits}f}"
    if row.get("n", 0) > 1:
        text += (f" ({_metric(row['min'], digits, signed)} to "
                 f"{_metric(row['max'], digits, signed)})")
    return text


def _digits(result: Dict[str, Any]) -> int:
    return 1 if result["problem_type"] == "regression" else 3


def _comparison_slices(result: Dict[str, Any], split: str, full: bool) -> List[str]:
    """Every slice; in the README the eval split only overall and the gated slices (the
    report-slice values are in the JSON and the printed tables)."""
    if full or split == "test":
        return list(result["slices"])
    gated = int(result.get("gated_slices", 0))
    return list(result["slices"][:1 + gated])


# The smallest number of rows of each class a slice's AUC rests on before the tables flag it.
THIN_CLASS_ROWS = 10


def _t_critical(n: int) -> Optional[float]:
    """Student's t at 97.5% with n - 1 degrees of freedom (a two-sided 95% paired test)."""
    if n < 2:
        return None
    from scipy.stats import t
    return float(t.ppf(0.975, n - 1))


def _favours(value: Optional[float], higher_is_better: bool) -> bool:
    return value is not None and (value > 0 if higher_is_better else value < 0)


def verdict(result: Dict[str, Any], pair: str, name: str) -> str:
    """Whether the first model of `pair` beats the second in slice `name`: on eval and on test,
    the mean paired difference favours it with a paired t beyond the 95% bound, and the time
    split (when there is one) agrees."""
    digits = _digits(result)
    higher = result["higher_is_better"]
    parts, fails = [], []
    for split in ("eval", "test"):
        row = result["summary"]["differences"][pair][split][name]
        if not row.get("n"):
            return f"- {pair}, {name}: no measurement"
        crit = _t_critical(row["n"])
        # The paired t in the pipeline's favour: positive when it is better, whichever way
        # the metric points.
        t_value = None
        if row.get("sd"):
            t_value = row["mean"] / (row["sd"] / row["n"] ** 0.5) * (1 if higher else -1)
        elif row.get("sd") == 0 and row["mean"]:
            t_value = float("inf") if _favours(row["mean"], higher) else float("-inf")
        text = (f"{split} {_metric(row['mean'], digits, signed=True)} ± "
                f"{_metric(row.get('sd'), digits)}, t {_metric(t_value, 1)}, "
                f"better in {row['wins']}/{row['n']}")
        if crit is None or t_value is None or t_value < crit:
            fails.append(f"{split}: t {_metric(t_value, 1)} below {_metric(crit, 2)}"
                         if crit is not None else f"{split}: one fold")
        if row.get("time") is not None:
            text += f", time split {_metric(row['time'], digits, signed=True)}"
            if not _favours(row["time"], higher):
                fails.append(f"{split}: the time split does not favour it")
        parts.append(text)
    outcome = ("holds on eval and test" if not fails else "does not hold (" + "; ".join(fails)
               + ")")
    return f"- {pair}, {name}: " + "; ".join(parts) + f": **{outcome}**."


def _thin_slices(result: Dict[str, Any], split: str) -> List[str]:
    """Slices whose AUC rests on fewer than THIN_CLASS_ROWS rows of a class in some fold."""
    if result["problem_type"] != "binary":
        return []
    out = []
    for name in result["slices"]:
        fewest = None
        for fold in result["folds"]:
            m = fold["models"]["plain"][split].get(name, {})
            if "positives" in m:
                n = min(m["positives"], m["examples"] - m["positives"])
                fewest = n if fewest is None else min(fewest, n)
        if fewest is not None and fewest < THIN_CLASS_ROWS:
            out.append(f"{name} (as few as {fewest})")
    return out


def model_comparison_dataset_lines(result: Dict[str, Any], full: bool = False) -> List[str]:
    """One dataset's tables: per split, the seeded folds' spread and the time split, each
    model's headline and the paired differences."""
    digits = _digits(result)
    summary = result["summary"]
    models = [m for m in result["models"] if m in summary["models"]]
    pairs = [p for p in summary["differences"]]
    direction = "higher is better" if result["higher_is_better"] else "lower is better"
    lines = [f"**{result['dataset']}** ({result['problem_type']}, {result['rows']:,} rows in "
             f"{len(result['spans'])} span(s)): {result['headline_title']} ({direction}), "
             f"{result['seeds']} seeded folds (seeds 0-{result['seeds'] - 1}, train/eval/test "
             f"{result['splits']['train']}:{result['splits']['eval']}:"
             f"{result['splits']['test']}); time split: {result['time_split']}."]
    if result.get("derived_inputs"):
        lines[0] += (" Derived inputs the ablation leaves out: "
                     + ", ".join(f"`{n}`" for n in result["derived_inputs"]) + ".")
    has_time = any(f["kind"] == "time" for f in result["folds"])
    for split in COMPARISON_SPLITS:
        names = _comparison_slices(result, split, full)
        header = ("| slice | rows | " + " | ".join(MODEL_TITLES[m] for m in models)
                  + "".join(f" | {p} (wins)" for p in pairs) + " |")
        rule = "|---|---:|" + "---:|" * (len(models) + len(pairs))
        lines += ["", f"{split} split, {result['headline_title']}: mean ± sd (min to max) over "
                  f"the seeded folds; paired differences, and in how many folds the pipeline "
                  f"was better:", "", header, rule]
        for name in names:
            rows = summary["models"][models[0]][split][name].get("examples")
            cells = [_mean_sd(summary["models"][m][split][name], digits) for m in models]
            cells += [_mean_sd(summary["differences"][p][split][name], digits, signed=True)
                      + f" ({summary['differences'][p][split][name]['wins']}/"
                      f"{summary['differences'][p][split][name]['n']})"
                      if summary["differences"][p][split][name]["n"] else "-"
                      for p in pairs]
            lines.append(f"| {name} | {'-' if rows is None else f'{rows:,.0f}'} | "
                         + " | ".join(cells) + " |")
        thin = [t for t in _thin_slices(result, split)
                if t.split(" (")[0] in names]
        if thin:
            lines += ["", f"AUC there rests on fewer than {THIN_CLASS_ROWS} rows of one class "
                      f"in some {split} fold, so it is noise: " + ", ".join(thin) + "."]
        if not has_time:
            continue
        timed = next(f for f in result["folds"] if f["kind"] == "time")
        lines += ["", f"{split} split, {result['headline_title']}, time split "
                  f"({timed['rows'][split]:,} {split} rows):", "",
                  "| slice | rows | " + " | ".join(MODEL_TITLES[m] for m in models)
                  + "".join(f" | {p}" for p in pairs) + " |",
                  "|---|---:|" + "---:|" * (len(models) + len(pairs))]
        for name in names:
            rows = timed["models"][models[0]][split].get(name, {}).get("examples")
            lines.append(
                f"| {name} | {'-' if rows is None else f'{rows:,}'} | "
                + " | ".join(_metric(summary["models"][m][split][name]["time"], digits)
                             for m in models)
                + "".join(" | " + _metric(summary["differences"][p][split][name]["time"],
                                          digits, signed=True) for p in pairs) + " |")
    if pairs:
        gated = int(result.get("gated_slices", 0))
        lines += ["", "Does it hold? Overall and in the gated slices, on eval and on test: "
                  "the paired differences' mean ± sd, their paired t in the pipeline's favour "
                  "(it holds only above Student's two-sided 95% bound, and only if the time "
                  "split, where there is one, favours the pipeline too), and the folds the "
                  "pipeline was better in:", ""]
        lines += [verdict(result, p, name) for p in pairs
                  for name in result["slices"][:1 + gated]]
    return lines


def render_model_comparison(results: Dict[str, Any]) -> str:
    machine = results["machine"]
    load = machine.get("load_average_at_start")
    load = ("load average at start " + ", ".join(f"{x:.2f}" for x in load) if load
            else "load average not recorded")
    settings = results["settings"]
    lines = [MODEL_COMPARISON_BEGIN, "",
             f"Commit {results.get('commit') or '?'}, started {results['started']}, "
             f"{machine['nproc']} cores, {load}, {results['seconds'] / 60:.1f} minutes:", "",
             "```", results["command"], "```", "",
             f"Both sides: {settings['train_steps']} steps of batch {settings['batch_size']}, "
             f"the same training seed within a fold; the pipeline's model with "
             f"{settings['hyperparameters']} and {settings['eval_steps']} validation steps. "
             f"Slices: overall, the gated ones, and each report-slice value expected to hold "
             f"at least {settings['min_slice_rows']} test rows."]
    for result in results["datasets"]:
        lines += [""] + model_comparison_dataset_lines(result)
    return "\n".join(lines + ["", MODEL_COMPARISON_END])


def model_comparison_section(text: str) -> str:
    start, end = text.find(MODEL_COMPARISON_BEGIN), text.find(MODEL_COMPARISON_END)
    if start < 0 or end < start:
        raise SystemExit(f"{README}: the markers of the model-comparison tables are missing")
    return text[start:end + len(MODEL_COMPARISON_END)]


def write_model_comparison(results_path: Path = MODEL_COMPARISON_RESULTS,
                           readme: Path = README) -> None:
    text = readme.read_text()
    rendered = render_model_comparison(json.loads(results_path.read_text()))
    readme.write_text(text.replace(model_comparison_section(text), rendered))


def model_comparison_matches(results_path: Path = MODEL_COMPARISON_RESULTS,
                             readme: Path = README) -> bool:
    return model_comparison_section(readme.read_text()) == render_model_comparison(
        json.loads(results_path.read_text()))


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
