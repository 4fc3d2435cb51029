"""This pipeline side by side with the TFX taxi template, measured in one invocation.

Rounds alternate template, pipeline, template, pipeline, ... (`--rounds`, at least two of each).
A template round copies TFX's own taxi template (`tfx template copy --model=taxi`), switches on
its default components (every `components.append` its TODO steps leave commented out: 7
components and the model resolver), points it at the same rows and the same train and eval
steps, and runs its `local_runner.py` once (the template does not enable caching). A pipeline
round runs `tabflow run` three times on a fresh output root:

- cold: every component, the Tuner's search included;
- unchanged rerun: expected fully cached (process start, imports and cache look-ups);
- new span: the same rows again as the next span, so everything from ExampleGen on runs again
  except the search, which the tuning policy reuses (pipeline/tuning.py).

Every figure is reported as a ratio to the median of the template's runs in this invocation,
with min, median and max over the rounds; nothing is taken from an earlier measurement.
Afterwards the plain tf-keras script (benchmarks/plain_model.py) is trained on the last
pipeline round's train split and both it and the pipeline's blessed model are scored on that
round's test split, overall and within the slices that script scores.

    .venv/bin/python benchmarks/benchmark.py [--rounds 2] [--scale 1 [10 30 ...]]
        [--train-steps 1000] [--eval-steps 150] [--output-root DIR] [--json PATH] [--readme]
        [--check]

Each scale repeats the comparison with both sides reading N times the rows; `--readme` keeps
the JSON as benchmarks/results/benchmark.json and writes benchmarks/README.md's tables from it
(benchmarks/readme_tables.py); `--check` only says whether those tables are the kept JSON's.
"""
import argparse
import importlib.util
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from tabflow import config as config_lib  # noqa: E402  (light: no TFX import)
from tabflow.config import PipelineConfig, StoreConfig  # noqa: E402

TEMPLATE_NAME = "template"
# The results benchmarks/README.md quotes, kept beside it (benchmarks/readme_tables.py).
RESULTS_FILE = PROJECT_ROOT / "benchmarks" / "results" / "benchmark.json"
PIPELINE_RUNS = ("cold", "unchanged rerun", "new span")
# Targets as ratios to the template's median (issue: aims, reported as measured).
TARGETS = {"cold": 1.0, "unchanged rerun": 0.25, "new span": 0.8, "peak RSS": 1.0}


def parse_args(argv=None) -> argparse.Namespace:
    defaults = config_lib.from_sources()  # field defaults and TABFLOW_* variables
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2,
                   help="template and pipeline rounds, alternating (default 2 of each)")
    p.add_argument("--rounds-above-1x", type=int,
                   help="rounds at scales above 1x (default: --rounds); one round of a large "
                        "scale takes many minutes, and its ratio then has no spread")
    p.add_argument("--train-steps", type=int, default=1000)
    p.add_argument("--eval-steps", type=int, default=150)
    p.add_argument("--tuner-trials", type=int, default=defaults.training.tuner_trials)
    p.add_argument("--tuner-train-steps", type=int, default=defaults.training.tuner_train_steps)
    p.add_argument("--scale", type=int, nargs="+", default=[1],
                   help="N [N ...]: both read N times the rows (the dataset's synth.py), "
                        "each scale measured side by side in turn (default 1)")
    p.add_argument("--skip-model-quality", action="store_true",
                   help="do not run benchmarks/plain_model.py afterwards")
    p.add_argument("--output-root", help="folder for every round (default: a new folder "
                                         "outputs/benchmark/<timestamp>); kept afterwards")
    p.add_argument("--json", help="results file "
                                  "(default: outputs/benchmark/benchmark-<timestamp>.json)")
    p.add_argument("--readme", action="store_true",
                   help=f"keep the results as {RESULTS_FILE.relative_to(PROJECT_ROOT)} and "
                        "write benchmarks/README.md's tables from them")
    p.add_argument("--check", action="store_true",
                   help="only say whether benchmarks/README.md's tables are the kept JSON's")
    args = p.parse_args(argv)
    if args.rounds < 2:
        p.error("--rounds must be at least 2: a median needs more than one run of each")
    if args.rounds_above_1x is None:
        args.rounds_above_1x = args.rounds
    if args.rounds_above_1x < 1:
        p.error("--rounds-above-1x must be at least 1")
    if min(args.scale) < 1 or len(set(args.scale)) != len(args.scale):
        p.error("--scale: distinct values >= 1")
    return args


# --- data ------------------------------------------------------------------------------------

def all_spans_as_one(data_root: str, folder: Path) -> str:
    """A data root whose single span holds every row of every span, as the template reads."""
    target = folder / "span-1" / "data.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w") as out:
        for i, path in enumerate(sorted(Path(data_root).glob("span-*/*.csv"))):
            lines = path.read_text().splitlines(keepends=True)
            out.writelines(lines if i == 0 else lines[1:])
    return str(folder)


def dataset_script(name: str) -> Optional[Path]:
    """A benchmark script the dataset ships in its folder (its scaled copy, its plain model),
    if it has one: how to scale or model a dataset is the dataset's business."""
    path = Path(config_lib.from_sources().data.dataset) / f"{name}.py"
    return path if path.is_file() else None


def load_dataset_script(name: str):
    path = dataset_script(name)
    if path is None:
        raise SystemExit(f"{config_lib.from_sources().data.dataset}: no {name}.py, which this "
                         "benchmark needs")
    spec = importlib.util.spec_from_file_location(f"dataset_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def benchmark_rows(data_root: str, folder: Path, scale: int) -> Path:
    """The CSV both sides read: every span's rows, `scale` times over."""
    if scale == 1:
        root = all_spans_as_one(data_root, folder)
    else:
        root = load_dataset_script("synth").scaled_copy(data_root, folder, scale)
    [csv] = Path(root).glob("span-*/*.csv")
    return csv


def count_rows(csv: Path) -> int:
    with open(csv, "rb") as f:
        return sum(1 for _ in f) - 1


# --- processes -------------------------------------------------------------------------------

def run_child(cmd: List[str], cwd: Optional[str] = None, env: Optional[dict] = None,
              log: Optional[Path] = None) -> Dict[str, Any]:
    """Run cmd; wall seconds, exit code, its own peak RSS and CPU (os.wait4)."""
    out = open(log, "w") if log else None
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
                            if out else None)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    finally:
        if out:
            out.close()
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, tell Popen
    return {
        "wall_seconds": round(wall, 2),
        "exit_code": proc.returncode,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "user_cpu_seconds": round(usage.ru_utime, 2),
        "system_cpu_seconds": round(usage.ru_stime, 2),
    }


def venv_bin(name: str) -> str:
    exe = Path(sys.executable).parent / name
    if not exe.exists():
        raise SystemExit(f"{exe} not found: run with the project's venv python")
    return str(exe)


# --- MLMD ------------------------------------------------------------------------------------

def store_exists(config: PipelineConfig) -> bool:
    # connect() would create an empty SQLite store: do not let it before the cold run.
    return bool(config.store.mysql_host) or os.path.exists(config.store.metadata_path)


def artifact_count(config: PipelineConfig) -> int:
    if not store_exists(config):
        return 0
    from tabflow.metadata.store import open_store
    return len(open_store(config.store).get_artifacts())


def mlmd_summary(config: PipelineConfig, previous_run_id: Optional[str]) -> Dict[str, Any]:
    """Per-component state and seconds of the latest pipeline run recorded in MLMD."""
    from tabflow.metadata import runs
    from tabflow.metadata.errors import NotFound
    from tabflow.metadata.store import open_store
    empty = {"run_id": None, "components": [], "executed": 0, "cached": 0, "resolvers": 0,
             "other": 0}
    if not store_exists(config):
        return empty
    store = open_store(config.store)
    try:
        run_id = runs.resolve_run(store, config.pipeline_name, runs.LATEST).run_id
    except NotFound:
        run_id = None
    if run_id is None or run_id == previous_run_id:
        return {**empty, "note": "no new pipeline_run context in MLMD for this run"}
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


# --- the template ----------------------------------------------------------------------------

def prepare_template(folder: Path, csv: Path, args: argparse.Namespace) -> Path:
    """TFX's taxi template, copied by its own command, default components on, our rows."""
    copied = subprocess.run([venv_bin("tfx"), "template", "copy", "--model=taxi",
                             f"--pipeline_name={TEMPLATE_NAME}", f"--destination_path={folder}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if copied.returncode:
        raise SystemExit(f"tfx template copy failed: {copied.stderr.strip().splitlines()[-1:]}")
    definition = folder / "pipeline" / "pipeline.py"
    text, switched = re.subn(r"^(\s*)# (components\.append\()", r"\1\2",
                             definition.read_text(), flags=re.M)
    definition.write_text(text)
    configs = folder / "pipeline" / "configs.py"
    text = configs.read_text()
    text = re.sub(r"^TRAIN_NUM_STEPS = .*$", f"TRAIN_NUM_STEPS = {args.train_steps}", text,
                  flags=re.M)
    text = re.sub(r"^EVAL_NUM_STEPS = .*$", f"EVAL_NUM_STEPS = {args.eval_steps}", text,
                  flags=re.M)
    configs.write_text(text)
    shutil.copyfile(csv, folder / "data" / "data.csv")
    (folder / "components-switched-on").write_text(f"{switched}\n")
    return folder


def template_round(index: int, folder: Path, csv: Path,
                   args: argparse.Namespace) -> Dict[str, Any]:
    print(f"\n=== round {index}: TFX taxi template ===", flush=True)
    prepare_template(folder, csv, args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABFLOW_")}
    # The template's own modules (pipeline/, models/) come first, not this project's.
    env["PYTHONPATH"] = str(folder)
    result = run_child([sys.executable, "local_runner.py"], cwd=str(folder), env=env,
                       log=folder / "run.log")
    store = folder / "tfx_metadata" / TEMPLATE_NAME / "metadata.db"
    config = config_lib.PipelineConfig(pipeline_name=TEMPLATE_NAME,
                                       store=StoreConfig(metadata_path=str(store)))
    result["mlmd"] = mlmd_summary(config, None)
    result["label"] = "template"
    result["log"] = str(folder / "run.log")
    print_run(result)
    return result


# --- the pipeline ----------------------------------------------------------------------------

def pipeline_round(index: int, folder: Path, csv: Path,
                   args: argparse.Namespace) -> List[Dict[str, Any]]:
    print(f"\n=== round {index}: this pipeline ===", flush=True)
    data_root = folder / "data"
    (data_root / "span-1").mkdir(parents=True)
    shutil.copyfile(csv, data_root / "span-1" / "data.csv")
    output_root = folder / "out"
    config = config_lib.from_sources(output_root=str(output_root), data_root=str(data_root),
                                     train_steps=args.train_steps, eval_steps=args.eval_steps,
                                     tuner_trials=args.tuner_trials,
                                     tuner_train_steps=args.tuner_train_steps)
    command = [venv_bin("tabflow"), "run", "--data-root", str(data_root),
               "--output-root", str(output_root),
               "--train-steps", str(args.train_steps), "--eval-steps", str(args.eval_steps),
               "--tuner-trials", str(args.tuner_trials),
               "--tuner-train-steps", str(args.tuner_train_steps)]
    results, previous = [], None
    for label in PIPELINE_RUNS:
        if label == "new span":
            (data_root / "span-2").mkdir()
            shutil.copyfile(csv, data_root / "span-2" / "data.csv")
        before = artifact_count(config)
        log = folder / f"{label.replace(' ', '-')}.log"
        result = run_child(command, log=log)
        result.update(label=label, artifacts_before=before, artifacts_after=artifact_count(config),
                      mlmd=mlmd_summary(config, previous), log=str(log))
        previous = result["mlmd"]["run_id"] or previous
        print_run(result)
        results.append(result)
    return results


# --- report ----------------------------------------------------------------------------------

def _fmt(s: Optional[float]) -> str:
    return "-" if s is None else f"{s:.1f}"


def print_run(r: Dict[str, Any]) -> None:
    m = r["mlmd"]
    print(f"--- {r['label']}: exit {r['exit_code']}, wall {r['wall_seconds']:.1f} s, "
          f"peak RSS {r['peak_rss_mb']:.0f} MB, "
          f"CPU {r['user_cpu_seconds'] + r['system_cpu_seconds']:.1f} s; "
          f"executed {m['executed']}, cached {m['cached']} (+{m['resolvers']} resolver)")
    print("    " + ", ".join(f"{c['node_id']} {_fmt(c['seconds'])}"
                             + ("" if c["state"] == "COMPLETE" else f" {c['state']}")
                             for c in m["components"] if not c["type"].endswith(".Resolver")),
          flush=True)


def spread(values: List[float], anchor: float) -> Dict[str, float]:
    ratios = [v / anchor for v in values]
    return {"min": round(min(ratios), 3), "median": round(statistics.median(ratios), 3),
            "max": round(max(ratios), 3), "values": [round(v, 2) for v in values]}


def component_medians(runs: List[Dict[str, Any]]) -> Dict[str, float]:
    by_node: Dict[str, List[float]] = {}
    for r in runs:
        for c in r["mlmd"]["components"]:
            if c["state"] == "COMPLETE" and c["seconds"] is not None \
                    and not c["type"].endswith(".Resolver"):
                by_node.setdefault(c["node_id"], []).append(c["seconds"])
    return {node: round(statistics.median(v), 2) for node, v in by_node.items()}


def summarise(template: List[dict], pipeline: List[List[dict]]) -> Dict[str, Any]:
    anchor_wall = statistics.median(r["wall_seconds"] for r in template)
    anchor_rss = statistics.median(r["peak_rss_mb"] for r in template)
    rows = {"template": spread([r["wall_seconds"] for r in template], anchor_wall)}
    for i, label in enumerate(PIPELINE_RUNS):
        rows[label] = spread([rnd[i]["wall_seconds"] for rnd in pipeline], anchor_wall)
    rss = {"template": spread([r["peak_rss_mb"] for r in template], anchor_rss),
           "pipeline (largest of its runs)": spread(
               [max(r["peak_rss_mb"] for r in rnd) for rnd in pipeline], anchor_rss)}
    return {"anchor": {"template_median_wall_seconds": anchor_wall,
                       "template_median_peak_rss_mb": anchor_rss},
            "wall_ratio": rows, "peak_rss_ratio": rss,
            "component_median_seconds": {
                "template": component_medians(template),
                **{label: component_medians([rnd[i] for rnd in pipeline])
                   for i, label in enumerate(PIPELINE_RUNS)}},
            "targets": TARGETS}


def print_summary(summary: Dict[str, Any], quality: Optional[dict]) -> None:
    anchor = summary["anchor"]
    print("\n=== side by side (ratios to the template's median in this invocation: "
          f"{anchor['template_median_wall_seconds']:.1f} s wall, "
          f"{anchor['template_median_peak_rss_mb']:.0f} MB peak RSS) ===")
    print(f"  {'run':<34} {'min':>6} {'median':>7} {'max':>6}  {'target':>7}  seconds")
    for label, row in summary["wall_ratio"].items():
        target = TARGETS.get(label)
        print(f"  {label + ' (wall)':<34} {row['min']:>6.2f} {row['median']:>7.2f} "
              f"{row['max']:>6.2f}  {'<= ' + format(target, '.2f') if target else '':>7}  "
              f"{', '.join(map(str, row['values']))}")
    for label, row in summary["peak_rss_ratio"].items():
        target = TARGETS["peak RSS"] if label != "template" else None
        print(f"  {label + ' (peak RSS)':<34} {row['min']:>6.2f} {row['median']:>7.2f} "
              f"{row['max']:>6.2f}  {'<= ' + format(target, '.2f') if target else '':>7}  "
              f"{', '.join(map(str, row['values']))} MB")
    print("\n  median seconds per executed component:")
    table = summary["component_median_seconds"]
    nodes = sorted({n for cols in table.values() for n in cols})
    print(f"    {'component':<22}" + "".join(f"{c:>17}" for c in table))
    for node in nodes:
        print(f"    {node:<22}" + "".join(f"{_fmt(table[c].get(node)):>17}" for c in table))
    if quality:
        # The plain script scores "overall" and the slices its dataset cares about.
        names = ["overall"] + sorted({s for key in ("plain_script", "pipeline_model")
                                      for s, v in (quality.get(key) or {}).items()
                                      if s != "overall" and isinstance(v, dict)})
        print(f"\n  test split ({quality.get('test_rows', '?')} rows) AUC "
              + " / ".join(names) + ":")
        if "error" in quality:
            print(f"    {quality['error']}")
        for name, key in (("plain tf-keras script", "plain_script"),
                          ("pipeline's blessed model", "pipeline_model")):
            scores = quality.get(key) or {}
            aucs = [scores.get(s, {}).get("auc") for s in names]
            print(f"    {name:<26} " + " / ".join("-" if a is None else f"{a:.3f}"
                                                   for a in aucs))


def model_quality(output_root: Path, json_path: Path, train_steps: int) -> Optional[dict]:
    script = PROJECT_ROOT / "benchmarks" / "plain_model.py"
    print("\n=== model quality: plain tf-keras script vs the pipeline's blessed model ===",
          flush=True)
    # The same steps and batch as the pipeline's Trainer, whatever flags the benchmark got.
    result = run_child([sys.executable, str(script), "--output-root", str(output_root),
                        "--json", str(json_path), "--train-steps", str(train_steps),
                        "--batch-size", str(config_lib.from_sources().training.batch_size)])
    if result["exit_code"] != 0 or not json_path.exists():
        return {"error": f"{script} exited {result['exit_code']}"}
    return json.loads(json_path.read_text())


def machine_info() -> Dict[str, Any]:
    return {"nproc": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_at_start": os.getloadavg()}


def rounds_at(scale: int, args: argparse.Namespace) -> int:
    return args.rounds if scale == 1 else args.rounds_above_1x


def measure_scale(scale: int, root: Path, args: argparse.Namespace) -> Dict[str, Any]:
    """Rounds alternating template and pipeline on `scale` times the rows."""
    folder = root / f"{scale}x"
    csv = benchmark_rows(config_lib.from_sources().data.data_root, folder / "rows", scale)
    rows = count_rows(csv)
    print(f"\n##### scale {scale}x: {rows} rows, {args.train_steps} train / {args.eval_steps} "
          "eval steps", flush=True)
    template, pipeline = [], []
    for i in range(1, rounds_at(scale, args) + 1):
        template.append(template_round(i, folder / f"template-{i}", csv, args))
        pipeline.append(pipeline_round(i, folder / f"pipeline-{i}", csv, args))
    return {"scale": scale, "rows": rows, "folder": str(folder), "rounds": len(template),
            "summary": summarise(template, pipeline),
            "template_runs": template, "pipeline_rounds": pipeline}


def print_scales(scales: List[Dict[str, Any]]) -> None:
    print("\n=== ratio to the template at each scale (median of the rounds) ===")
    print(f"  {'scale':>5} {'rows':>9} {'template s':>11} "
          + "".join(f"{label:>17}" for label in PIPELINE_RUNS) + f"{'peak RSS':>10}")
    for result in scales:
        summary = result["summary"]
        ratios = [summary["wall_ratio"][label]["median"] for label in PIPELINE_RUNS]
        rss = summary["peak_rss_ratio"]["pipeline (largest of its runs)"]["median"]
        print(f"  {str(result['scale']) + 'x':>5} {result['rows']:>9} "
              f"{summary['anchor']['template_median_wall_seconds']:>11.1f} "
              + "".join(f"{r:>17.2f}" for r in ratios) + f"{rss:>10.2f}")
    print("  targets: cold <= 1.00 (<= 0.80 at 10x and more), unchanged rerun <= 0.25, "
          "new span <= 0.80, peak RSS <= 1.00")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.check:
        from benchmarks import readme_tables
        return readme_tables.check_region("benchmark")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = Path(args.output_root or PROJECT_ROOT / "outputs" / "benchmark" / stamp)
    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"{root} is not empty: every round needs fresh folders")
    root.mkdir(parents=True, exist_ok=True)
    json_path = Path(args.json or PROJECT_ROOT / "outputs" / "benchmark"
                     / f"benchmark-{stamp}.json")
    print(f"Benchmark folder: {root} (kept)", flush=True)
    scales = [measure_scale(scale, root, args) for scale in args.scale]

    # The model comparison needs the real rows' test split: the smallest scale's last round.
    first = scales[0]
    quality = None if args.skip_model_quality else model_quality(
        Path(first["folder"]) / f"pipeline-{first['rounds']}" / "out",
        root / "model-quality.json", args.train_steps)
    for result in scales:
        print(f"\n##### scale {result['scale']}x ({result['rows']} rows)")
        print_summary(result["summary"], quality if result is first else None)
    print_scales(scales)
    results = {
        "started": stamp, "machine": machine_info(), "commit": _commit(),
        "settings": {k: v for k, v in vars(args).items()
                     if k not in ("json", "output_root", "readme", "check")},
        "folder": str(root), "scales": scales, "model_quality": quality,
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n  results JSON: {json_path}")
    if args.readme:
        from benchmarks import readme_tables
        readme_tables.keep_and_write("benchmark", json_path)
    failed = [r for result in scales
              for r in result["template_runs"] + [x for rnd in result["pipeline_rounds"]
                                                  for x in rnd] if r["exit_code"]]
    return 1 if failed else 0


def _commit() -> Optional[str]:
    from benchmarks import readme_tables
    return readme_tables.commit()


if __name__ == "__main__":
    sys.exit(main())
