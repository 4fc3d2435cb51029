"""benchmarks/README.md's measured tables, written from the results JSON kept beside it.

Every table of figures in benchmarks/README.md sits in a region between two markers, and each
region is rendered from one file of benchmarks/results/ (REGIONS below: the region's name is
the file's and the script's). A script's `--readme` keeps its run's JSON there and calls
keep_and_write; its `--check` (or this file's) says whether the region is what the kept JSON
renders. Nothing between the markers is typed by hand, and a unit test checks every region.

    .venv/bin/python benchmarks/readme_tables.py [--check] [--region NAME ...]
"""
import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
README = PROJECT_ROOT / "benchmarks" / "README.md"
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"
RESULTS = RESULTS_DIR / "benchmark.json"
BEGIN = "<!-- written by benchmarks/readme_tables.py from benchmarks/results/benchmark.json -->"
END = "<!-- end of the written tables -->"
RUNS = ("cold", "unchanged rerun", "new span")
RSS = "pipeline (largest of its runs)"
TARGETS = {"cold": 1.0, "unchanged rerun": 0.25, "new span": 0.8, "peak RSS": 1.0}


def commit() -> Optional[str]:
    """The checkout's short commit, with " (uncommitted changes)" when tracked files differ."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=PROJECT_ROOT, capture_output=True, text=True).stdout.strip()
        return out + (" (uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


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
                   key=lambda n: (-max(table.get(c, {}).get(n, 0) for c in columns), n))
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


def _growth(value: Optional[float], base: Optional[float]) -> str:
    if value is None or not base or base < 0.05:
        return "-"
    return f"{value / base:.1f}"


def growth_table(scales: List[Dict[str, Any]], side: str) -> List[str]:
    """One side's (template or cold) seconds per component at every scale, and each scale's
    ratio to the first: what grows with the rows."""
    first = scales[0]["scale"]
    per_scale = [s["summary"]["component_median_seconds"].get(side, {}) for s in scales]
    nodes = sorted({n for table in per_scale for n in table},
                   key=lambda n: (-max(t.get(n, 0) for t in per_scale), n))
    header = (f"| component ({side}) | " + " | ".join(f"{s['scale']}x" for s in scales)
              + "".join(f" | {s['scale']}x / {first}x" for s in scales[1:]) + " |")
    lines = [header, "|---|" + "---:|" * (2 * len(scales) - 1)]
    rows = [(n, [t.get(n) for t in per_scale]) for n in nodes
            if max(t.get(n, 0) for t in per_scale) >= 0.5]
    wall = []
    for result in scales:
        anchor = result["summary"]["anchor"]["template_median_wall_seconds"]
        wall.append(anchor if side == "template"
                    else result["summary"]["wall_ratio"][side]["median"] * anchor)
    rows.append(("**whole process (wall)**", wall))
    for name, values in rows:
        lines.append(f"| {name} | " + " | ".join(_seconds(v) for v in values)
                     + "".join(f" | {_growth(v, values[0])}" for v in values[1:]) + " |")
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
    load = _load(machine.get("load_average_at_start"))
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
    if len(results["scales"]) > 1:
        first = results["scales"][0]["scale"]
        for side, title in (("template", "the template"), ("cold", "the pipeline's cold run")):
            lines += ["", f"Growth with the rows, {title}: median seconds per executed "
                      f"component (MLMD) at each scale, and the ratio to {first}x:", ""]
            lines += growth_table(results["scales"], side)
    if results.get("recovered"):
        lines += ["", f"Recovered after the run: {results['recovered']}."]
    quality = quality_lines(results.get("model_quality"))
    if quality:
        lines += [""] + quality
    return "\n".join(lines + ["", END])


def section(text: str) -> str:
    return region_section(text, "benchmark")


def write_readme(results_path: Optional[Path] = None, readme: Optional[Path] = None) -> None:
    write_region("benchmark", results_path, readme)


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
    load = _load(machine.get("load_average_at_start"))
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
    return region_section(text, "model_comparison")


def write_model_comparison(results_path: Optional[Path] = None,
                           readme: Optional[Path] = None) -> None:
    write_region("model_comparison", results_path, readme)


def model_comparison_matches(results_path: Optional[Path] = None,
                             readme: Optional[Path] = None) -> bool:
    return region_matches("model_comparison", results_path, readme)


# --- shared by the other scripts' regions ------------------------------------------------------

def _begin(name: str) -> str:
    return (f"<!-- written by benchmarks/readme_tables.py from benchmarks/results/{name}.json "
            "-->")


def _end(name: str) -> str:
    return f"<!-- end of the {name} tables -->"


def _wrap(name: str, lines: List[str]) -> str:
    return "\n".join([_begin(name), ""] + lines + ["", _end(name)])


def _load(load: Optional[List[float]], when: str = "at start") -> str:
    return (f"load average {when} " + ", ".join(f"{x:.2f}" for x in load) if load
            else "load average not recorded")


def _header(results: Dict[str, Any]) -> List[str]:
    """Commit, start, machine and the command, for the scripts that record them alike
    (machine: nproc, load_average_at_start; command: the invocation to repeat)."""
    machine = results.get("machine", {})
    return [f"Commit {results.get('commit') or '?'}, started {results.get('started', '?')}, "
            f"{machine.get('nproc', '?')} cores, "
            f"{_load(machine.get('load_average_at_start'))}:", "",
            "```", results["command"], "```"]


def _cell(text: Any) -> str:
    """A value as one markdown table cell: no pipes, no line breaks."""
    return str(text).replace("|", "\\|").replace("\n", " ")


# --- benchmarks/lineage_speed.py ------------------------------------------------------------

def lineage_command(settings: Dict[str, Any]) -> str:
    parts = [".venv/bin/python benchmarks/lineage_speed.py"]
    if settings.get("store"):
        parts.append(f"--store {settings['store']}")
    else:
        parts.append(f"--runs {settings['runs']}")
    if settings.get("mysql"):
        parts.append("--mysql")
    parts += [f"--targets {settings['targets']}", f"--command-reps {settings['command_reps']}",
              f"--seed {settings['seed']}"]
    if settings.get("keep"):
        parts.append(f"--keep {settings['keep']}")
    if settings.get("only"):
        parts.append("--only " + " ".join(f"'{o}'" if " " in o else o
                                          for o in settings["only"]))
    for flag in ("no_in_process", "no_bytecode_cache"):
        if settings.get(flag):
            parts.append("--" + flag.replace("_", "-"))
    return " ".join(parts + ["--readme"])


def render_lineage_speed(results: Dict[str, Any]) -> str:
    machine, store = results["machine"], results["store"]
    kinds = store.get("kinds")
    kinds = (", ".join(f"{n} {k}" for k, n in kinds.items()) if isinstance(kinds, dict)
             else kinds)
    counts = ", ".join(f"{n:,} {k}" for k, n in store.get("counts", {}).items())
    targets = results.get("targets", {})
    lines = [f"Commit {results.get('commit') or '?'}, started {results['when']}, "
             f"{machine.get('cpus', '?')} cores, "
             f"{_load(machine.get('load_average'), 'at the end')}:", "", "```",
             lineage_command(results["settings"]), "```", "",
             f"Store: {store['backend']}, {store['runs']:,} runs ({kinds}); {counts}"
             + (f"; built in {store['build_seconds']} s" if store.get("build_seconds") else "")
             + ". Commands "
             + ("with a private bytecode cache" if results.get("bytecode_cache")
                else "without a bytecode cache")
             + f". Milliseconds; targets: p50 under {targets.get('in_process_p50_ms', 100)} "
             f"ms in-process, under {targets.get('command_ms', 1000)} ms as a command.", "",
             "| measurement | n | p50 ms | p90 ms | max ms |", "|---|---:|---:|---:|---:|"]
    for row in results["measurements"]:
        cells = [_f(row.get(k), ",.0f") for k in ("p50_ms", "p90_ms", "max_ms")]
        failed = row.get("error_count", 1) if ("error" in row or "errors" in row) else 0
        kind = f"`{row['kind']}`" + (f" (FAILED {failed}x)" if failed else "")
        lines.append(f"| {_cell(kind)} | {row['n']} | " + " | ".join(cells) + " |")
    return _wrap("lineage_speed", lines)


def _f(value: Optional[float], spec: str) -> str:
    return "-" if value is None else format(value, spec)


# --- benchmarks/csv_check_memory.py ---------------------------------------------------------

def render_csv_check_memory(results: Dict[str, Any]) -> str:
    base = results["baseline"]
    lines = _header(results) + [
        "", f"Baseline (an empty file, the same child process): peak RSS "
        f"{base['peak_rss_mb']:.1f} MB, {base['seconds']:.3f} s.", "",
        "| shape | size MB | peak RSS MB | over baseline MB | seconds | problems | first problem |",
        "|---|---:|---:|---:|---:|---:|---|"]
    for row in results["rows"]:
        lines.append(f"| {row['shape']} | {row['size_mb']:.1f} | {row['peak_rss_mb']:.1f} | "
                     f"{row['over_baseline_mb']:.1f} | {row['seconds']:.2f} | "
                     f"{row['problems']} | {_cell(row['first_problem'])} |")
    return _wrap("csv_check_memory", lines)


# --- benchmarks/profile_components.py -------------------------------------------------------

PROFILE_MIN_PHASE_SECONDS = 0.5


def profile_component_table(breakdown: Dict[str, Any]) -> List[str]:
    lines = ["| component | seconds | share | main phases (seconds) |", "|---|---:|---:|---|"]
    for c in breakdown["components"]:
        phases = "; ".join(f"{p['phase']} {p['seconds']:.1f}" for p in c["phases"]
                           if p["seconds"] >= PROFILE_MIN_PHASE_SECONDS)
        lines.append(f"| {_cell(c['component'])} | {c['seconds']:.1f} | {c['share']:.0%} | "
                     f"{_cell(phases)} |")
    lines.append(f"| **main thread, total** | **{breakdown['main_thread_seconds']:.1f}** | "
                 "100% | |")
    return lines


def profile_phase_table(profiles: List[Dict[str, Any]]) -> List[str]:
    """Seconds and share of every phase over all components, one column pair per profile."""
    totals = []
    for profile in profiles:
        by_phase: Dict[str, float] = {}
        for c in profile["breakdown"]["components"]:
            for p in c["phases"]:
                by_phase[p["phase"]] = by_phase.get(p["phase"], 0.0) + p["seconds"]
        totals.append({ph: round(sec, 1) for ph, sec in by_phase.items()})
    phases = sorted({ph for t in totals for ph in t},
                    key=lambda ph: (-max(t.get(ph, 0) for t in totals), ph))
    lines = ["| phase (all components) | " + " | ".join(
        f"{p['label']} s | {p['label']} share" for p in profiles) + " |",
        "|---|" + "---:|---:|" * len(profiles)]
    for ph in phases:
        if max(t.get(ph, 0) for t in totals) < PROFILE_MIN_PHASE_SECONDS:
            continue
        cells = []
        for profile, t in zip(profiles, totals):
            total = profile["breakdown"]["main_thread_seconds"]
            value = t.get(ph)
            cells += [_f(value, ".1f"), "-" if value is None or not total
                      else f"{value / total:.0%}"]
        lines.append(f"| {_cell(ph)} | " + " | ".join(cells) + " |")
    return lines


def render_profile_components(results: Dict[str, Any]) -> str:
    lines = [f"Recordings of runs at commit {results.get('commit') or '?'}, read "
             f"{results['started']}:", "", "```", results["command"], "```"]
    if results.get("recorded"):
        lines += ["", f"Recorded: {results['recorded'].rstrip('.')}."]
    for profile in results["profiles"]:
        b = profile["breakdown"]
        lines += ["", f"**{profile['label']}**: the main thread sampled for "
                  f"{b['main_thread_seconds']:.1f} s at {b['rate']:g}/s (wall seconds, waits "
                  f"included); phases under {PROFILE_MIN_PHASE_SECONDS} s left out of the "
                  "table (they are in the JSON):", ""]
        lines += profile_component_table(b)
        children = b.get("child_processes_seconds") or {}
        if children:
            lines += ["", "Child processes, sampled beside the main thread (seconds): "
                      + "; ".join(f"`{_cell(cmd)}` {sec:.1f}" for cmd, sec in children.items())
                      + "."]
    lines += ["", "The same samples by phase, over all components:", ""]
    lines += profile_phase_table(results["profiles"])
    sdist = results.get("sdist_per_node_from_log")
    if sdist is not None:
        lines += ["", "TFX sdist step per node (pipeline.log): " + (
            "; ".join(f"{r['node']} {r['seconds']:.1f} s" for r in sdist)
            if sdist else "none (no Beam component inferred a dependency package)") + "."]
    return _wrap("profile_components", lines)


# --- benchmarks/runners.py ------------------------------------------------------------------

RUNNERS_COMMAND = ".venv/bin/python benchmarks/runners.py --readme"


def runners_command(settings: Dict[str, Any]) -> str:
    return (".venv/bin/python benchmarks/runners.py --runners " + " ".join(settings["runners"])
            + f" --train-steps {settings['train_steps']} --eval-steps {settings['eval_steps']}"
            f" --tuner-trials {settings['tuner_trials']}"
            f" --tuner-train-steps {settings['tuner_train_steps']} --readme")


def render_runners(results: Dict[str, Any]) -> str:
    machine = results.get("machine", {})
    lines = [f"Commit {results.get('commit') or '?'}, started {results['started']}, "
             f"{machine.get('nproc', '?')} cores, "
             f"{_load(machine.get('load_average_at_start'))}:", "", "```",
             runners_command(results["settings"]), "```", "",
             "Each runner cold on a fresh output root, one after another. Peak RSS: the "
             "largest single process (`os.wait4`) and the child's whole process tree (sampled "
             "every 0.5 s); components: MLMD seconds summed.", "",
             "| runner | ok | exit | wall s | CPU s | peak RSS MB | tree RSS MB | executed "
             "| components s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    seconds = {}
    for r in results["runs"]:
        cpu = (r["user_cpu_seconds"] + r["system_cpu_seconds"]
               if "user_cpu_seconds" in r else None)
        comps = {c["node_id"]: c["seconds"] for c in r.get("mlmd", {}).get("components", [])}
        seconds[r["runner"]] = comps
        lines.append(f"| {r['runner']} | {'yes' if r['ok'] else 'NO'} | "
                     f"{_f(r.get('exit_code'), 'd')} | {_f(r.get('wall_seconds'), '.1f')} | "
                     f"{_f(cpu, '.1f')} | {_f(r.get('peak_rss_mb'), ',.0f')} | "
                     f"{_f(r.get('peak_tree_rss_mb'), ',.0f')} | "
                     f"{r.get('mlmd', {}).get('executed', 0)} | "
                     f"{sum(s or 0 for s in comps.values()):.1f} |")
    errors = [f"{r['runner']}: {r['error']}" for r in results["runs"] if r.get("error")]
    if errors:
        lines += ["", "Errors: " + "; ".join(_cell(e) for e in errors) + "."]
    names = [r["runner"] for r in results["runs"]]
    nodes = list(dict.fromkeys(n for by_node in seconds.values() for n in by_node))
    if nodes:
        lines += ["", "Seconds per component (MLMD):", "",
                  "| component | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        lines += [f"| {node} | " + " | ".join(_f(seconds[n].get(node), ".1f") for n in names)
                  + " |" for node in nodes]
    return _wrap("runners", lines)


# --- the regions, and the one helper that writes and checks them ----------------------------

@dataclass(frozen=True)
class Region:
    """A marked part of benchmarks/README.md rendered from benchmarks/results/<name>.json.
    `unmeasured`: the command to run when the region may stand with no kept JSON yet."""
    name: str
    render: Callable[[Dict[str, Any]], str]
    begin: str
    end: str
    unmeasured: Optional[str] = None

    @property
    def results(self) -> Path:
        return RESULTS_DIR / f"{self.name}.json"


REGIONS: Dict[str, Region] = {r.name: r for r in [
    Region("benchmark", render, BEGIN, END),
    Region("model_comparison", render_model_comparison, MODEL_COMPARISON_BEGIN,
           MODEL_COMPARISON_END),
    Region("lineage_speed", render_lineage_speed, _begin("lineage_speed"),
           _end("lineage_speed")),
    Region("csv_check_memory", render_csv_check_memory, _begin("csv_check_memory"),
           _end("csv_check_memory")),
    Region("profile_components", render_profile_components, _begin("profile_components"),
           _end("profile_components")),
    Region("runners", render_runners, _begin("runners"), _end("runners"),
           unmeasured=RUNNERS_COMMAND),
]}


def render_region(name: str, results: Optional[Dict[str, Any]]) -> str:
    region = REGIONS[name]
    if results is not None:
        return region.render(results)
    if region.unmeasured is None:
        raise SystemExit(f"{_shown(region.results)} is missing: the {name} region has "
                         "nothing to render")
    return "\n".join([region.begin, "", "Not yet measured at this commit: run", "", "```",
                      region.unmeasured, "```", "", region.end])


def _shown(path: Path) -> str:
    """A path relative to the project when it is inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def load_results(path: Path) -> Optional[Dict[str, Any]]:
    return json.loads(path.read_text()) if path.exists() else None


def region_section(text: str, name: str, readme: Optional[Path] = None) -> str:
    region = REGIONS[name]
    start = text.find(region.begin)
    end = text.find(region.end, start)
    if start < 0 or end < 0:
        raise SystemExit(f"{readme or README}: the markers of the {name} tables are missing")
    return text[start:end + len(region.end)]


def rendered(name: str, results_path: Optional[Path] = None) -> str:
    return render_region(name, load_results(results_path or REGIONS[name].results))


def write_region(name: str, results_path: Optional[Path] = None,
                 readme: Optional[Path] = None) -> None:
    """Replace the region `name` of `readme` with what its results JSON renders."""
    readme = readme or README
    text = readme.read_text()
    readme.write_text(text.replace(region_section(text, name, readme),
                                   rendered(name, results_path)))


def region_matches(name: str, results_path: Optional[Path] = None,
                   readme: Optional[Path] = None) -> bool:
    readme = readme or README
    return region_section(readme.read_text(), name, readme) == rendered(name, results_path)


def check_region(name: str, results_path: Optional[Path] = None,
                 readme: Optional[Path] = None) -> int:
    """One line, and 0 when the region is what the kept JSON renders, else 1."""
    readme = readme or README
    path = results_path or REGIONS[name].results
    if not path.exists() and REGIONS[name].unmeasured is None:
        print(f"{readme.name}: the {name} tables have no kept JSON: {_shown(path)} is missing")
        return 1
    if region_matches(name, results_path, readme):
        print(f"{readme.name}: the {name} tables match {path.name}" if path.exists() else
              f"{readme.name}: the {name} tables say they are not yet measured, and "
              f"{path.name} is not kept")
        return 0
    print(f"{readme.name}: the {name} tables differ from {path.name}: run "
          f"benchmarks/readme_tables.py --region {name} (or the script's --readme)")
    return 1


def keep_and_write(name: str, json_path: Path, readme: Optional[Path] = None) -> Path:
    """A script's --readme: keep its run's JSON as benchmarks/results/<name>.json and write
    the region from it."""
    kept = REGIONS[name].results
    kept.parent.mkdir(parents=True, exist_ok=True)
    if Path(json_path).resolve() != kept.resolve():
        shutil.copyfile(json_path, kept)
    write_region(name, kept, readme)
    print(f"kept {_shown(kept)} and wrote its tables into {_shown(readme or README)}")
    return kept


def regions_in(readme: Optional[Path] = None) -> List[str]:
    """The regions whose opening marker is in the README, in REGIONS order."""
    text = (readme or README).read_text()
    return [name for name, region in REGIONS.items() if region.begin in text]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true",
                   help="only say whether the README matches the kept JSON")
    p.add_argument("--region", nargs="+", choices=list(REGIONS),
                   help="these regions only (default: every region the README has)")
    args = p.parse_args(argv)
    names = args.region or regions_in()
    if args.check:
        return max([check_region(name) for name in names] or [0])
    for name in names:
        write_region(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
