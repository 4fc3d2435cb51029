"""Where a pipeline run's seconds go: a py-spy raw (collapsed) profile, split by component and
by phase within each component.

Record one run first (py-spy is a measurement tool only, not a project dependency):

    .venv/bin/uv pip install --python .venv/bin/python py-spy
    .venv/bin/py-spy record --idle --threads --subprocesses --rate 50 --format raw \\
        -o /tmp/prof.raw -- .venv/bin/taxi-pipeline run --output-root /tmp/prof-run \\
        --data-root <all spans as one> --train-steps 1000 --eval-steps 150
    .venv/bin/python benchmarks/profile_components.py /tmp/prof.raw [MORE.raw ...] --rate 50 \
        [--labels cold "new span" ...] [--log PIPELINE_LOG] [--commit SHA] [--recorded TEXT] \
        [--json PATH] [--readme] [--check]

Several recordings (e.g. a cold run and a run on a new span) are read one by one, each under
its label. --readme keeps the JSON as benchmarks/results/profile_components.json and writes its
tables into benchmarks/README.md (benchmarks/readme_tables.py); --check only says whether those
tables are the kept JSON's. --commit names the commit the recorded runs used (default: this
checkout's) and --recorded says how they were recorded (rate, flags, data, steps).

Wall time is read from the MAIN thread of the top process only: LocalDagRunner launches the
nodes one after another from it and, with `--idle`, py-spy samples it at the given rate whether
it computes or waits (for a Beam bundle, a TensorFlow op, an `sdist` child process). So
samples / rate is wall seconds, and every sample belongs to exactly one (component, phase).
Other threads and child processes run concurrently with the main thread; their samples are
listed apart (they are not more wall time).

A sample's component is the executor it runs under (tfx/components/<name>/..., or the
function of a @component); launcher frames outside the executor are orchestration (MLMD
reads and writes, input resolution, publishing); frames outside any launch are process start,
imports, pipeline construction and the runner. Its phase is the first rule in PHASES whose
pattern occurs in the stack (innermost frames are not needed: a pattern anywhere counts).
"""
import argparse
import datetime
import json
import re
import shlex
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
# The results benchmarks/README.md quotes, kept beside it (benchmarks/readme_tables.py).
REGION = "profile_components"

# (component label, regex on one frame) -- checked innermost-out from the launcher's executor
# call, first hit wins. Frames look like "Do (tfx/components/transform/executor.py:123)".
COMPONENT_FRAMES: List[Tuple[str, str]] = [
    # the project's batched CSV executor (pipeline/csv_examples.py) or TFX's own
    ("ExampleGen", r"tfx/components/example_gen/|\(pipeline/csv_examples\.py"),
    ("StatisticsGen", r"tfx/components/statistics_gen/"),
    ("CuratedSchemaGen", r"tfx/components/schema_gen/import_schema_gen/"),
    ("SchemaGen", r"tfx/components/schema_gen/"),
    ("ExampleValidator", r"tfx/components/example_validator/"),
    ("Transform", r"tfx/components/transform/"),
    ("Tuner", r"tfx/components/tuner/"),
    ("Trainer", r"tfx/components/trainer/"),
    ("Evaluator", r"tfx/components/evaluator/"),
    ("Pusher", r"tfx/components/pusher/|^\w+ \(pipeline/push\.py"),
]

# A @component function: the frame right under the decorator's executor is the function.
DECORATOR_FRAME = re.compile(r"tfx/dsl/component/experimental/decorators\.py")
LAUNCH_FRAME = re.compile(r"^launch \((tfx/orchestration/)?portable/launcher\.py")
EXECUTOR_CALL_FRAME = re.compile(r"^_run_executor \((tfx/orchestration/)?portable/launcher\.py")

# (phase, regex searched over the whole ';'-joined stack). First match wins, so the more
# specific phases come first. Applied inside a component's executor.
PHASES: List[Tuple[str, str]] = [
    ("TFX sdist (infer Python dependency for Beam)", r"dependency_utils\.py"),
    ("imports", r"_find_and_load \(<frozen importlib"),
    # (project call sites found by call_site_phases() are inserted here)
    ("model load (TF SavedModel)", r"saved_model/load\.py|saving/legacy/saved_model/load|"
                                   r"loader_impl\.py|\bload_model \("),
    ("model save (SavedModel)", r"saved_model/save\.py|builder_impl\.py|saving_api\.py|"
                                r"\bsave_model \(|export_saved_model"),
    ("keras fit", r"\bfit \(tf_keras/"),
    ("keras evaluate / predict", r"\b(evaluate|predict) \(tf_keras/"),
    ("tuner search (other)", r"keras_tuner/"),
    ("tf.function tracing / graph building", r"polymorphic_function/|func_graph\.py|"
                                             r"autograph/|tracing_compiler|"
                                             r"concrete_function\.py"),
    ("TFT analyzers (combine)", r"tensorflow_transform/beam/analyzer_impls\.py|"
                                r"tensorflow_transform/beam/combiner_packing|"
                                r"tensorflow_transform/beam/bucket_util|quantiles"),
    ("TFT run transform graph on batches", r"tensorflow_transform/beam/impl\.py:\d+\);?"
                                           r"[^;]*(_RunMetaGraph|process|_handle_batch)|"
                                           r"tensorflow_transform/saved/saved_transform_io"),
    ("TFMA metrics", r"tensorflow_model_analysis/metrics/|tensorflow_model_analysis/"
                     r"evaluators/metrics_plots_and_validations_evaluator|"
                     r"tensorflow_model_analysis/extractors/"),
    ("TFMA writers (metrics, plots, validation)", r"tensorflow_model_analysis/writers/"),
    ("TFDV statistics", r"tensorflow_data_validation/statistics/|tfx_bsl/statistics"),
    ("TFDV validation", r"tensorflow_data_validation/api/validation_api|"
                        r"tensorflow_data_validation/anomalies"),
    ("Beam: (un)pickling DoFns (dill)", r"apache_beam/internal/(dill_)?pickler"),
    ("Beam: state cache object sizing (objsize)", r"objsize/"),
    ("Beam: stage setup (bundle descriptors, DoFn checks, runner API)",
     r"_build_process_bundle_descriptor|inspect\.py|userstate\.py|apache_beam/typehints|"
     r"to_runner_api|bundle_processor\.py:\d+\);[^;]*__init__|create_operation"),
    ("read / decode examples", r"tfx_bsl/(coders|tfxio)|tfxio|csv_decoder|"
                               r"example_coder|tfrecordio\.py:\d+\);[^;]*read"),
    ("write TFRecords / files", r"apache_beam/io/iobase\.py|apache_beam/io/filebasedsink|"
                                r"tfrecordio|write_split|WriteSplit"),
    ("Beam: running stages (per-bundle/element runner work)", r"apache_beam/runners/"),
    ("Beam: pipeline construction", r"apache_beam/(pipeline|transforms)/"),
    ("other", r""),
]

# Calls in the project's own model code, recognised by their line (a frame shows the line it
# is on): the text of the call names the phase. TensorFlow often runs the called code in C++,
# so the Python stack can end at the call site or in a wrapper.
CALL_SITES = [("keras fit", r"\.fit\("), ("model save (SavedModel)", r"\.save\("),
              ("serving signatures (tracing the TFT layer + model)",
               r"make_serving_signatures\("),
              ("tuner search (other)", r"\.search\(")]


def call_site_phases(root: Path) -> List[Tuple[str, str]]:
    rules = []
    for path in sorted((root / "modules").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for label, pattern in CALL_SITES:
                if re.search(pattern, line) and not line.lstrip().startswith(("def ", "#")):
                    rules.append((label, rf"\(modules/{re.escape(path.name)}:{number}\)"))
    return rules


OUTSIDE_PHASES: List[Tuple[str, str]] = [
    ("imports", r"_find_and_load \(<frozen importlib"),
    ("pipeline construction + compile to IR", r"tfx/dsl/compiler/|create_pipeline|"
                                              r"create_components|tfx/dsl/components/base/"),
    ("runner: MLMD connect, node loop", r"tfx/orchestration/"),
    ("other (CLI, config, shutdown)", r""),
]


def split_stack(text: str) -> List[str]:
    """Split a collapsed stack on ';' outside double quotes (process command lines)."""
    out, cur, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def parse(lines: Iterable[str]) -> List[Tuple[List[str], int]]:
    samples = []
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, count = line.rpartition(" ")
        samples.append((split_stack(stack), int(count)))
    return samples


def component_of(frames: List[str]) -> Optional[str]:
    """The component a main-thread stack is executing, 'orchestration' for launcher frames
    outside the executor, None outside any launch."""
    launch = next((i for i, f in enumerate(frames) if LAUNCH_FRAME.search(f)), None)
    if launch is None:
        return None
    call = next((i for i, f in enumerate(frames[launch:], launch)
                 if EXECUTOR_CALL_FRAME.search(f)), None)
    if call is None:
        return "orchestration (launcher: MLMD, inputs, publish)"
    inner = frames[call:]
    for i, f in enumerate(inner):
        if DECORATOR_FRAME.search(f) and i + 1 < len(inner) \
                and not DECORATOR_FRAME.search(inner[i + 1]):
            return "@component " + inner[i + 1].split(" (")[0]
    for label, pattern in COMPONENT_FRAMES:
        if any(re.search(pattern, f) for f in inner):
            return label
    return "Beam executor set-up (no component frame yet)"


def phase_of(frames: List[str], rules: List[Tuple[str, str]]) -> str:
    joined = ";".join(frames)
    for label, pattern in rules:
        if re.search(pattern, joined):
            return label
    return "other"


def breakdown(samples: List[Tuple[List[str], int]], rate: float,
              phases: Optional[List[Tuple[str, str]]] = None) -> Dict:
    phases = phases or PHASES
    root = next((s[0][0] for s in samples if s[0] and s[0][0].startswith("process ")), None)
    if root is None:
        raise ValueError("no 'process ...' frames: record with --subprocesses (and --threads)")
    pid = re.match(r"process (\d+)", root).group(1)
    main_thread = re.compile(rf"^thread \({pid}\)")
    table: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
    other_threads: Dict[str, int] = defaultdict(int)
    children: Dict[str, int] = defaultdict(int)
    for frames, count in samples:
        if not frames or frames[0] != root:
            continue
        if len(frames) > 1 and frames[1].startswith("process "):
            cmd = frames[1].split(":", 1)[1].strip('"')[:100]
            children[cmd] += count
            continue
        if len(frames) < 2 or not main_thread.match(frames[1]):
            name = frames[1] if len(frames) > 1 else "?"
            other_threads[re.sub(r"\(\d+\):?\s*", "", name).strip() or "unnamed"] += count
            continue
        stack = frames[2:]
        component = component_of(stack)
        if component is None:
            table["(outside components)"][phase_of(stack, OUTSIDE_PHASES)] += count
        elif component.startswith("orchestration"):
            table[component]["MLMD / resolve / publish"] += count
        else:
            table[component][phase_of(stack, phases)] += count
    total = sum(sum(p.values()) for p in table.values())
    sec = lambda n: round(n / rate, 1)  # noqa: E731
    components = sorted(table.items(), key=lambda kv: -sum(kv[1].values()))
    return {
        "rate": rate,
        "main_thread_seconds": sec(total),
        "components": [{"component": c, "seconds": sec(sum(p.values())),
                        "share": round(sum(p.values()) / total, 3) if total else 0,
                        "phases": [{"phase": ph, "seconds": sec(n)}
                                   for ph, n in sorted(p.items(), key=lambda kv: -kv[1])]}
                       for c, p in components],
        "other_threads_samples_seconds": {k: sec(v) for k, v in
                                          sorted(other_threads.items(), key=lambda kv: -kv[1])
                                          [:10]},
        "child_processes_seconds": {k: sec(v) for k, v in
                                    sorted(children.items(), key=lambda kv: -kv[1])},
    }


_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def sdist_from_log(path: str) -> List[Dict]:
    """Per node, the seconds of TFX's "infer Python dependency for beam" step, from the run's
    pipeline.log: "Attempting to infer ..." to "Added --extra_package=..." (py-spy cannot
    tell which node it is in: it runs before the executor's own frames)."""
    import datetime
    stamp = lambda line: datetime.datetime.strptime(  # noqa: E731
        _LOG_TIME.match(line).group(1), "%Y-%m-%d %H:%M:%S,%f")
    node, start, out = None, None, []
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r'^  id: "([^"]+)"$', line)
            if m:
                node = m.group(1)
            elif "Attempting to infer TFX Python dependency for beam" in line:
                start = stamp(line)
            elif "Added --extra_package=" in line and start is not None:
                out.append({"node": node,
                            "seconds": round((stamp(line) - start).total_seconds(), 1)})
                start = None
    return out


def print_breakdown(b: Dict, min_seconds: float) -> None:
    print(f"main thread: {b['main_thread_seconds']:.1f} s sampled at {b['rate']:g}/s "
          f"(wall, idle included)")
    print(f"{'component':<44} {'seconds':>8} {'share':>6}   phases (seconds)")
    for c in b["components"]:
        phases = ", ".join(f"{p['phase']} {p['seconds']:.1f}" for p in c["phases"]
                           if p["seconds"] >= min_seconds)
        print(f"{c['component']:<44} {c['seconds']:>8.1f} {c['share']:>6.0%}   {phases}")
    if b["child_processes_seconds"]:
        print("\nchild processes (concurrent with the main thread, seconds sampled):")
        for cmd, s in b["child_processes_seconds"].items():
            print(f"  {s:>7.1f}  {cmd}")
    if b.get("sdist_per_node_from_log"):
        print("\nTFX sdist step per node (pipeline.log timestamps):")
        for row in b["sdist_per_node_from_log"]:
            print(f"  {row['seconds']:>7.1f}  {row['node']}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("raw", nargs="*", help="py-spy --format raw output (recorded with --idle "
                                          "--threads --subprocesses), one or more")
    p.add_argument("--labels", nargs="+", help="one label per recording (default: the file "
                                               "names)")
    p.add_argument("--rate", type=float, default=100.0,
                   help="the --rate py-spy sampled at (default: py-spy's 100)")
    p.add_argument("--min-seconds", type=float, default=0.5,
                   help="hide phases shorter than this in the printed table")
    p.add_argument("--source", default=str(PROJECT_ROOT),
                   help="project checkout the profiled run used (its modules/ call sites "
                        "name phases; default: this one)")
    p.add_argument("--log", help="the profiled runs' pipeline.log (<output root>/logs/): adds "
                                 "the sdist step's seconds per node")
    p.add_argument("--commit", help="the commit the recorded runs used (default: this "
                                    "checkout's)")
    p.add_argument("--recorded", help="how the recordings were made (kept in the JSON and "
                                      "the README)")
    p.add_argument("--json", help="also write the breakdown as JSON")
    p.add_argument("--readme", action="store_true",
                   help="keep the JSON as benchmarks/results/profile_components.json and write "
                        "benchmarks/README.md's tables from it")
    p.add_argument("--check", action="store_true",
                   help="only say whether benchmarks/README.md's tables are the kept JSON's")
    args = p.parse_args(argv)
    from benchmarks import readme_tables
    if args.check:
        return readme_tables.check_region(REGION)
    if not args.raw:
        p.error("name at least one py-spy raw recording")
    labels = args.labels or [Path(r).stem for r in args.raw]
    if len(labels) != len(args.raw):
        p.error(f"{len(args.raw)} recordings but {len(labels)} labels")
    phases = PHASES[:2] + call_site_phases(Path(args.source)) + PHASES[2:]
    profiles = []
    for label, raw in zip(labels, args.raw):
        with open(raw) as f:
            b = breakdown(parse(f), args.rate, phases)
        print(f"\n=== {label} ({raw}) ===")
        print_breakdown(b, args.min_seconds)
        profiles.append({"label": label, "raw": str(raw), "breakdown": b})
    results = {
        "started": datetime.datetime.now().strftime("%Y%m%d-%H%M%S"),
        "commit": args.commit or readme_tables.commit(),
        "command": command_line(args, labels),
        "recorded": args.recorded,
        "profiles": profiles,
    }
    if args.log:
        sdist = sdist_from_log(args.log)
        results["sdist_per_node_from_log"] = sdist
        if sdist:
            print("\nTFX sdist step per node (pipeline.log timestamps):")
            for row in sdist:
                print(f"  {row['seconds']:>7.1f}  {row['node']}")
    out = Path(args.json) if args.json else (
        readme_tables.REGIONS[REGION].results if args.readme else None)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nJSON: {out}")
    if args.readme:
        readme_tables.keep_and_write(REGION, out)
    return 0


def command_line(args: argparse.Namespace, labels: List[str]) -> str:
    quote = lambda text: shlex.quote(str(text))  # noqa: E731
    parts = [".venv/bin/python benchmarks/profile_components.py",
             *map(quote, args.raw), f"--rate {args.rate:g}",
             "--labels " + " ".join(map(quote, labels))]
    if args.log:
        parts.append(f"--log {quote(args.log)}")
    if args.commit:
        parts.append(f"--commit {quote(args.commit)}")
    if args.recorded:
        parts.append(f"--recorded {quote(args.recorded)}")
    return " ".join(parts + (["--readme"] if args.readme else []))


if __name__ == "__main__":
    sys.exit(main())
