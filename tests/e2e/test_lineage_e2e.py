"""End-to-end: the lineage commands on the shared store of real pipeline runs.

Exact artifacts come from the runs' own snapshots (what each run's executions wrote); sets that
other test files may grow (their runs share the store) are checked against an independent
brute-force walk over every event in the store.
"""
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2

from tests.support.default_dataset import facts
from tests.support.pipeline_runs import RESOLVERS, out, span_csv

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("tensorflow", "tfx", "apache_beam", "tensorflow_model_analysis",
         "tensorflow_data_validation")


def lineage_cli(e2e_config, capsys, *args):
    from tabflow.console.main import main
    code = main(["lineage", *args, "--output-root", e2e_config.output_root, "--json"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_trace_of_the_first_push_reaches_data_schemas_hparams_and_blessing(
        three_runs, e2e_config, store, capsys):
    first, second, third = three_runs
    pushed = out(first, "Pusher", "pushed_model")
    t = lineage_cli(e2e_config, capsys, "trace", str(pushed.id))

    assert t["push"]["id"] == pushed.id and t["push"]["run"] == first.run_id
    assert t["model"]["id"] == out(first, "Trainer", "model").id
    assert t["model"]["run"] == first.run_id
    # Runs 2 and 3 reused the data (and other test files' runs may reuse it too); the model
    # is reused by every run whose Trainer was served from the cache with it.
    assert t["data"]["reuse_count"] >= 2
    model = out(first, "Trainer", "model")
    writers = {e.execution_id for e in store.get_events_by_artifact_ids([model.id])
               if e.type == mlmd_pb2.Event.OUTPUT}
    cached = [e for e in store.get_executions_by_id(sorted(writers))
              if e.last_known_state == mlmd_pb2.Execution.CACHED]
    assert t["model"]["reuse_count"] == len(cached)
    data = t["data"]
    examples = out(first, "CsvExampleGen", "examples")
    assert data["id"] == examples.id
    assert data["span"] == examples.custom_properties["span"].int_value >= 1
    assert data["input_fingerprint"].startswith("split:single_split,num_files:1")
    assert data["statistics"]["id"] == out(first, "StatisticsGen", "statistics").id
    import csv
    with open(span_csv(e2e_config, data["span"])) as f:
        assert sum(data["row_counts"].values()) == sum(1 for _ in csv.DictReader(f))
    assert set(data["row_counts"]) == {"train", "eval", "test"}
    assert {f["path"].split("/")[0] for f in data["files"]} == {
        "Split-train", "Split-eval", "Split-test"}
    curated = t["schema"]["curated"]
    assert curated["id"] == out(first, "ImportSchemaGen", "schema").id
    from pipeline.fingerprints import sha256_file
    assert curated["schema_sha256"] == sha256_file(e2e_config.data.schema_path)
    assert t["schema"]["inferred"]["id"] == out(first, "SchemaGen", "schema").id
    assert t["anomalies"]["id"] == out(first, "ExampleValidator", "anomalies").id
    assert t["anomalies"]["by_split"] == {"train": [], "eval": [], "test": []}
    assert t["transform"]["id"] == out(first, "Transform", "transform_graph").id
    hyper = t["hyperparameters"]
    assert hyper["id"] == out(first, "Tuner", "best_hyperparameters").id
    assert set(hyper["values"]) >= {"learning_rate"}
    assert hyper["tuner_results"]["id"] == out(first, "Tuner", "tuner_results").id
    assert len(hyper["tuner_results"]["trials"]) == 2  # SMALL tuner_trials
    assert t["evaluation"]["id"] == out(first, "Evaluator", "evaluation").id
    assert t["evaluation"]["metrics"]["candidate"]["auc"] >= e2e_config.gates.threshold
    assert t["evaluation"]["validation_ok"] is True
    # Blessed on the held-out test split; its example count is that split's row count.
    assert t["evaluation"]["splits"] == ["test"]
    assert t["evaluation"]["metrics"]["candidate"]["example_count"] == \
        data["row_counts"]["test"]
    blessing = t["blessing"]
    assert blessing["id"] == out(first, "Evaluator", "blessing").id and blessing["blessed"]
    assert blessing["baseline_model_id"] is None  # the first blessed model had no baseline
    provenance = t["provenance"]
    from pipeline.fingerprints import modules_fingerprint
    assert provenance["runner"] == "local"
    assert provenance["code_sha256"] == modules_fingerprint()
    schema = e2e_config.data.schema_path
    assert provenance["files"][os.path.relpath(schema, REPO)] == sha256_file(schema)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                          text=True).stdout.strip()
    assert provenance["git_commit"] == (head or "unknown")


def test_trace_by_serving_path_finds_the_second_push_and_its_baseline(three_runs, e2e_config,
                                                                       capsys):
    first, second, _ = three_runs
    destination = second.result.pushed[0]
    t = lineage_cli(e2e_config, capsys, "trace", destination)
    assert t["push"]["id"] == out(second, "Pusher", "pushed_model").id
    assert t["push"]["destination"] == destination
    # The second run's retrained model was judged against the first run's.
    assert t["model"]["id"] == out(second, "Trainer", "model").id
    assert t["blessing"]["id"] == out(second, "Evaluator", "blessing").id
    assert t["blessing"]["baseline_model_id"] == out(first, "Trainer", "model").id
    assert t["blessing"]["baseline_run"] == first.run_id
    metrics = t["evaluation"]["metrics"]
    assert metrics["diff"]["auc"] == pytest.approx(
        metrics["candidate"]["auc"] - metrics["baseline"]["auc"], abs=1e-6)


def test_trace_latest_pushed_is_the_newest_push(three_runs, e2e_config, store, capsys):
    newest = max((a for a in store.get_artifacts_by_type("PushedModel")
                  if a.custom_properties["pushed"].int_value == 1),
                 key=lambda a: (a.create_time_since_epoch, a.id))
    assert lineage_cli(e2e_config, capsys, "trace", "latest-pushed")["push"]["id"] == newest.id


def test_trace_of_a_model_reports_its_newest_judgement(three_runs, strict_run, e2e_config,
                                                       capsys):
    model = out(three_runs[1], "Trainer", "model")
    t = lineage_cli(e2e_config, capsys, "trace", str(model.id))
    assert t["push"] is None and t["model"]["id"] == model.id
    # The strict run's Evaluator judged the same (cached) model last and refused it.
    strict_blessing = out(strict_run, "Evaluator", "blessing")
    assert t["blessing"]["id"] == strict_blessing.id and t["blessing"]["blessed"] is False


def _downstream_brute_force(store, start_id):
    """Every artifact reachable downstream of start_id, one event list walk per level."""
    events = store.get_events_by_execution_ids([e.id for e in store.get_executions()])
    inputs, outputs = {}, {}
    for ev in events:
        if ev.type == mlmd_pb2.Event.INPUT:
            inputs.setdefault(ev.artifact_id, set()).add(ev.execution_id)
        elif ev.type == mlmd_pb2.Event.OUTPUT:
            outputs.setdefault(ev.execution_id, set()).add(ev.artifact_id)
    seen, frontier = set(), {start_id}
    while frontier:
        seen |= frontier
        frontier = {a for art in frontier for e in inputs.get(art, ())
                    for a in outputs.get(e, ())} - seen
    return seen - {start_id}


def test_impact_of_the_examples_lists_everything_derived_and_what_serves(
        three_runs, strict_run, e2e_config, store, capsys):
    first, second, _ = three_runs
    examples = out(first, "CsvExampleGen", "examples")
    r = lineage_cli(e2e_config, capsys, "impact", f"id:{examples.id}")
    assert [e["id"] for e in r["examples"]] == [examples.id]
    derived = {t: {e["id"] for e in entries} for t, entries in r["derived"].items()}
    reachable = _downstream_brute_force(store, examples.id)
    types = {t.id: t.name for t in store.get_artifact_types()}
    for type_name, ids in derived.items():
        assert ids == {a.id for a in store.get_artifacts_by_id(list(reachable))
                       if types[a.type_id] == type_name}, type_name
    # The snapshots' own artifacts are all there.
    assert derived["Model"] >= {out(first, "Trainer", "model").id}
    assert derived["ModelBlessing"] >= {out(s, "Evaluator", "blessing").id
                                        for s in (first, second, strict_run)}
    assert derived["PushedModel"] >= {out(s, "Pusher", "pushed_model").id
                                      for s in (first, second)}
    strict = [e for e in r["derived"]["ModelBlessing"]
              if e["id"] == out(strict_run, "Evaluator", "blessing").id]
    assert strict[0]["blessed"] is False
    serving = [e for e in r["derived"]["PushedModel"] if e["serving_now"]]
    assert len(serving) == 1
    newest = max(r["derived"]["PushedModel"], key=lambda e: e["id"])
    assert serving[0]["id"] == newest["id"]
    assert r["serving_now"] == [{"base_directory": e2e_config.serving_dir,
                                 "pushed_model_id": newest["id"],
                                 "derived_from_these_examples": True}]


def test_impact_by_span_covers_the_runs_examples(three_runs, e2e_config, capsys):
    examples = out(three_runs[0], "CsvExampleGen", "examples")
    span = examples.custom_properties["span"].int_value
    r = lineage_cli(e2e_config, capsys, "impact", f"span:{span}")
    assert examples.id in {e["id"] for e in r["examples"]}
    assert {e["span"] for e in r["examples"]} == {span}


def test_runs_lists_every_run_with_push_flags(three_runs, strict_run, e2e_config, capsys):
    rows = {r["run_id"]: r for r in lineage_cli(e2e_config, capsys, "runs")}
    for snap, pushed in ((three_runs[0], True), (three_runs[1], True), (three_runs[2], False),
                         (strict_run, False)):
        assert snap.run_id in rows
        assert bool(rows[snap.run_id]["pushed"]) is pushed, snap.run_id


def test_diff_of_the_second_and_strict_runs(three_runs, strict_run, e2e_config, capsys):
    second = three_runs[1]
    d = lineage_cli(e2e_config, capsys, "diff", second.run_id, strict_run.run_id)
    assert d["a"] == second.run_id and d["b"] == strict_run.run_id
    assert d["data"]["examples_id"] is None and d["data"]["span"] is None  # same data
    assert d["data"]["row_counts"]["a"] == d["data"]["row_counts"]["b"]
    assert d["schema"] == {"curated_sha256": None, "inferred_feature_changes": []}
    assert d["statistics_drift"] == []  # one statistics artifact: nothing moved
    assert d["hyperparameters"] is None and d["model_id"] is None
    assert d["blessing"]["a"]["blessed"] is True and d["blessing"]["b"]["blessed"] is False
    assert d["blessing"]["a"]["pushed"] is True and d["blessing"]["b"]["pushed"] is False
    assert d["metrics"]["auc"]["a"] == pytest.approx(d["metrics"]["auc"]["b"])


def test_diff_of_the_fully_cached_run_says_it_pushed_nothing(three_runs, e2e_config, capsys):
    _, second, third = three_runs
    d = lineage_cli(e2e_config, capsys, "diff", second.run_id, third.run_id)
    resolvers = RESOLVERS  # resolve afresh on every run
    assert {node: state for node, state in d["states"]["b"].items() if node not in resolvers} == {
        node: "CACHED" for node in d["states"]["a"] if node not in resolvers}
    # The third run's CACHED Pusher re-announces the second run's push; it pushed nothing.
    assert d["blessing"]["a"]["pushed"] is True and d["blessing"]["b"]["pushed"] is False
    assert d["model_id"] is None and d["statistics_drift"] == []


def test_diff_against_a_gate_stopped_run_on_drifted_data(three_runs, drifted_run, e2e_config,
                                                          capsys):
    first = three_runs[0]
    d = lineage_cli(e2e_config, capsys, "diff", first.run_id, drifted_run)
    assert d["status"]["a"].startswith("COMPLETE")
    assert d["status"]["b"].startswith("FAILED at AnomalyGate")
    assert d["data"]["examples_id"]["a"] == out(first, "CsvExampleGen", "examples").id
    assert d["data"]["span"] is None  # one span number: the data changed within the span
    assert d["data"]["input_fingerprint"] is not None
    rows_a, rows_b = d["data"]["row_counts"]["a"], d["data"]["row_counts"]["b"]
    assert sum(rows_b.values()) < sum(rows_a.values())
    assert d["data"]["anomalies"]["a"] == 0 and d["data"]["anomalies"]["b"] >= 1
    drifted = {s["feature"] for s in d["statistics_drift"]}
    # drifted_run kept the upper third of the float column's values.
    assert facts().float_column in drifted and d["statistics_drift"][0]["distance"] > 0.1
    distances = [s["distance"] for s in d["statistics_drift"]]
    assert distances == sorted(distances, reverse=True) and len(distances) <= 10
    assert d["blessing"]["b"] == {"blessed": None, "baseline_model_id": None, "pushed": False}


def test_diff_accepts_latest_and_previous(three_runs, e2e_config, capsys):
    d = lineage_cli(e2e_config, capsys, "diff", "previous", "latest")
    assert d["a"] != d["b"]


def test_graph_of_a_run_as_dot_svg_and_html(three_runs, e2e_config, tmp_path, capsys):
    from tabflow.console.main import main
    first = three_runs[0]
    pages = {}
    for fmt in ("dot", "svg", "html"):
        path = tmp_path / f"graph.{fmt}"
        assert main(["lineage", "graph", first.run_id, "--format", fmt, "--output", str(path),
                     "--output-root", e2e_config.output_root]) == 0
        pages[fmt] = path.read_text()
    capsys.readouterr()
    for snap_record in first.executions:
        assert f"e{snap_record.id} " in pages["dot"]
        assert f'<g id="e{snap_record.id}">' in pages["svg"]
    pushed = out(first, "Pusher", "pushed_model")
    pusher = first.by_node()["Pusher"][0]
    assert f"e{pusher.id} -> a{pushed.id};" in pages["dot"]
    html = pages["html"]
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html
    for external in ("<script", "src=", "href=", "@import", "url(http"):
        assert external not in html


def test_lineage_commands_import_no_tensorflow_tfx_beam_tfdv_or_tfma(three_runs, e2e_config):
    first, second = three_runs[0].run_id, three_runs[1].run_id
    examples = out(three_runs[0], "CsvExampleGen", "examples").id
    code = (
        "import sys, json\n"
        "from tabflow.console.main import main\n"
        f"root = {e2e_config.output_root!r}\n"
        f"for args in (['trace', 'latest-pushed'], ['impact', 'id:{examples}'],\n"
        f"             ['diff', {first!r}, {second!r}],\n"
        f"             ['graph', {first!r}, '--format', 'html']):\n"
        "    assert main(['lineage', *args, '--output-root', root, '--json']) == 0, args\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY', json.dumps(heavy))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    heavy_line = [line for line in proc.stdout.splitlines() if line.startswith("HEAVY ")][-1]
    assert json.loads(heavy_line[len("HEAVY "):]) == []


def test_trace_and_impact_speed_is_measured(three_runs, strict_run, e2e_config, store,
                                            record_property):
    """Measured, not asserted (the machine is shared): p50 of in-process trace and impact."""
    from tabflow.lineage import impact, trace
    examples = out(three_runs[0], "CsvExampleGen", "examples").id
    timings = {}
    for name, call in (("trace", lambda: trace.trace(store, "latest-pushed")),
                       ("impact", lambda: impact.impact(store, f"id:{examples}"))):
        samples = []
        for _ in range(15):
            start = time.perf_counter()
            call()
            samples.append(time.perf_counter() - start)
        timings[name] = statistics.median(samples) * 1000
        record_property(f"{name}_p50_ms", round(timings[name], 1))
    print(f"\nlineage p50 on {len(store.get_contexts_by_type('pipeline_run'))} runs: "
          + ", ".join(f"{k} {v:.1f} ms" for k, v in timings.items()))


def test_tfma_proto_coexists_with_the_real_tfma_package(tmp_path):
    """Private load first, then real TFMA in the same process: one descriptor, both work."""
    from tabflow.artifacts import protos
    from tests.support.tfrecords import metrics_record, write_records
    pb2 = protos.metrics_for_slice_pb2()
    write_records(tmp_path / "metrics-00000-of-00001.tfrecord",
                  [metrics_record(pb2, "", "auc", 0.8)])
    code = (
        "import sys, json\n"
        "from tabflow.artifacts import evaluation, protos\n"
        f"before = evaluation.overall_metrics({str(tmp_path)!r})\n"
        "private = protos.metrics_for_slice_pb2()\n"
        "assert 'tensorflow_model_analysis' not in sys.modules\n"
        "import tensorflow_model_analysis\n"
        "from tensorflow_model_analysis.proto import metrics_for_slice_pb2 as real\n"
        "assert protos.metrics_for_slice_pb2() is real\n"
        "assert real.MetricsForSlice.DESCRIPTOR is private.MetricsForSlice.DESCRIPTOR\n"
        f"after = evaluation.overall_metrics({str(tmp_path)!r})\n"
        "print(json.dumps([before, after]))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    before, after = json.loads(proc.stdout.strip().splitlines()[-1])
    assert before == after == {"candidate": {"auc": 0.8}, "baseline": {}, "diff": {}}
