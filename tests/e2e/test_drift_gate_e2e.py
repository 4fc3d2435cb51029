"""The drift gate between spans, on LocalDagRunner with one output root and store:

1. span 1 (committed data) passes the gate with no baseline, and trains;
2. span 2 with the default dataset's drift column scaled DRIFT_SCALE-fold (types intact) stops
   at the drift gate before Transform, naming that column with its distance and threshold;
3. span 3 (committed data) passes, compared with span 1: the drifted span never passed; its
   Tuner reuses span 1's search (the tuning policy), and a run of span 4 with
   retune_every_spans=1 searches again.

Lineage diff and the report data carry the distances the gate used.
"""
import os
from pathlib import Path

import pytest

from tabflow.metadata import runs as mlmd_runs
from tabflow.metadata.graph import custom
from tabflow.metadata.store import open_store
from tabflow import contract as C
from tabflow.config import PipelineConfig
from tests.support.default_dataset import DRIFT_SCALE, facts
from tests.support.pipeline_runs import SMALL, add_span

pytestmark = pytest.mark.e2e


def _nodes(config, run_id):
    records = mlmd_runs.run_executions(open_store(config.store), config.pipeline_name, run_id)
    return {r.node_id: r for r in records}


def _report(record):
    from tabflow.artifacts.drift import read_drift_report
    [artifact] = record.outputs[C.DRIFT_REPORT_KEY]
    return artifact, read_drift_report(artifact.uri)


def _categorical_drift_column() -> str:
    """The first column with a drift comparator that the curated schema types as text."""
    from tabflow.artifacts.schema import load_schema
    from tensorflow_metadata.proto.v0 import schema_pb2
    types = {f.name: f.type for f in load_schema(PipelineConfig().data.schema_path).feature}
    return next(c for c in facts().drift_columns if types[c] == schema_pb2.BYTES)


@pytest.fixture(scope="module")
def spans(tmp_path_factory):
    """The three runs: (config, run ids, the drifted run's failure)."""
    from runners import local_runner
    root = tmp_path_factory.mktemp("drift")
    data_root = root / "data"
    config = PipelineConfig.from_flat(output_root=str(root / "out"), data_root=str(data_root),
                                      **SMALL)
    add_span(data_root, 1)
    first = local_runner.run(config).run_id
    add_span(data_root, 2, scale=DRIFT_SCALE)
    with pytest.raises(local_runner.PipelineFailed) as failed:
        local_runner.run(config)
    add_span(data_root, 3)
    third = local_runner.run(config).run_id
    return config, (first, failed.value.run_id, third), failed.value


def test_first_span_passes_with_no_baseline(spans):
    config, (first, _, _), _ = spans
    nodes = _nodes(config, first)
    assert nodes[C.DRIFT_GATE].state == "COMPLETE"
    artifact, report = _report(nodes[C.DRIFT_GATE])
    assert report["baseline"] is None and report["features"] == [] and report["span"] == 1
    assert artifact.custom_properties[C.BASELINE_PROPERTY].string_value.startswith("none")
    assert nodes[C.TRAINER].state == "COMPLETE"


def test_drifted_span_stops_before_transform_naming_the_drift_column(spans):
    config, (_, drifted, _), failure = spans
    assert failure.node_id == C.DRIFT_GATE
    message = str(failure)
    assert "span 2 drifted from span 1" in message
    lines = [line for line in message.splitlines() if line.strip().startswith("- feature")]
    assert lines and all(f"'{facts().drift_column}'" in line for line in lines), message
    assert all("Jensen-Shannon" in line and "> threshold 0.1500" in line for line in lines)
    nodes = _nodes(config, drifted)
    assert nodes[C.ANOMALY_GATE].state == "COMPLETE"
    assert nodes[C.DRIFT_GATE].state == "FAILED"
    assert not {C.TRANSFORM, C.TUNER, C.TRAINER, C.EVALUATOR, C.PUSHER} & set(nodes)
    assert C.DRIFT_REPORT_KEY not in nodes[C.DRIFT_GATE].outputs


def test_next_normal_span_passes_compared_with_the_last_span_that_passed(spans):
    config, (first, _, third), _ = spans
    nodes = _nodes(config, third)
    assert nodes[C.DRIFT_GATE].state == "COMPLETE"
    assert nodes[C.TRAINER].state == "COMPLETE"
    _, report = _report(nodes[C.DRIFT_GATE])
    baseline_stats = _nodes(config, first)[C.STATISTICS_GEN].outputs[C.STATISTICS_KEY][0]
    assert report["baseline"]["span"] == 1
    assert report["baseline"]["statistics_id"] == baseline_stats.id
    measured = {(r["split"], r["feature"]) for r in report["features"]}
    # A numeric column and a categorical one: both of the gate's measures were taken.
    assert {("train", facts().drift_column), ("train", _categorical_drift_column())} <= measured
    assert all(r["passed"] and r["distance"] <= r["threshold"] for r in report["features"])


def test_lineage_diff_and_report_show_the_distances_the_gate_used(spans):
    from tabflow.lineage.diff import diff
    from tabflow.lineage.text import format_diff
    from tabflow.review.collect import collect
    config, (first, drifted, third), _ = spans
    store = open_store(config.store)
    _, report = _report(_nodes(config, third)[C.DRIFT_GATE])

    d = diff(store, config.pipeline_name, first, third)
    assert d["drift_gate"]["a"]["baseline_span"] is None
    assert d["drift_gate"]["b"]["baseline_span"] == 1
    assert d["drift_gate"]["b"]["features"] == report["features"]
    text = format_diff(d)
    assert "Drift gate" in text and facts().drift_column in text and "Jensen-Shannon" in text

    stopped = diff(store, config.pipeline_name, first, drifted)
    assert stopped["drift_gate"]["b"]["state"] == "FAILED"

    review = collect(store, config.pipeline_name, third)
    assert review["data"]["drift"]["report"]["features"] == report["features"]
    assert review["data"]["drift"]["state"] == "COMPLETE"
    stopped_review = collect(store, config.pipeline_name, drifted)
    assert stopped_review["data"]["drift"]["state"] == "FAILED"


def test_impact_names_the_rollback_target_and_rollback_leaves_the_span_behind(spans, capsys):
    import json
    from tabflow.console.main import main
    from tabflow.registry import catalog
    config, _, _ = spans
    versions = catalog.versions(open_store(config.store), config.pipeline_name,
                                config.serving_dir)
    by_span = {v.span: v for v in versions}
    assert 1 in by_span  # the first span's model had no baseline to lose against
    assert main(["lineage", "impact", "span:3", "--json",
                 "--output-root", config.output_root]) == 0
    impact = json.loads(capsys.readouterr().out)
    assert impact["rollback_target"] == by_span[1].version
    if 3 not in by_span:  # span 3's model lost against span 1's: span 1's still serves
        assert impact["aliased_versions"] == [{"version": by_span[1].version,
                                               "aliases": ["serving"],
                                               "model_id": by_span[1].model_id,
                                               "derived_from_these_examples": False}]
        return
    assert [(v["version"], v["derived_from_these_examples"])
            for v in impact["aliased_versions"]] == [(by_span[3].version, True)]
    assert main(["rollback", "--exclude-span", "3", "--reason", "span 3 had bad labels",
                 "--output-root", config.output_root]) == 0
    assert f"-> version {by_span[1].version} (rollback" in capsys.readouterr().out
    [serving] = [v for v in catalog.versions(open_store(config.store), config.pipeline_name,
                                             config.serving_dir) if "serving" in v.aliases]
    assert serving.version == by_span[1].version


def _hyperparameters(config, run_id):
    [artifact] = _nodes(config, run_id)[C.TUNER].outputs[C.BEST_HYPERPARAMETERS_KEY]
    return artifact


def _search(artifact):
    props = artifact.custom_properties
    return (props[C.TUNING_REUSED_FROM_PROPERTY].int_value,
            props[C.TUNED_ON_SPAN_PROPERTY].int_value, props[C.TUNED_IN_RUN_PROPERTY].string_value)


def test_a_new_span_reuses_the_last_search_and_lineage_names_it(spans, capsys):
    """Tuning policy (pipeline/tuning.py), reuse path: span 3 is two spans past span 1's
    search, fewer than retune_every_spans."""
    from tabflow.console.main import main
    from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2
    config, (first, _, third), _ = spans
    assert config.training.retune_every_spans > 2
    searched = _hyperparameters(config, first)
    assert _search(searched) == (0, 1, first)
    tuner = _nodes(config, third)[C.TUNER]
    assert tuner.state == "COMPLETE"
    reused = _hyperparameters(config, third)
    assert reused.id != searched.id and _search(reused) == (searched.id, 1, first)
    assert reused.custom_properties[C.TUNING_KEY_PROPERTY].string_value == \
        searched.custom_properties[C.TUNING_KEY_PROPERTY].string_value
    # The search's output is an input of the reusing execution: lineage links them.
    store = open_store(config.store)
    inputs = {e.artifact_id for e in store.get_events_by_execution_ids([tuner.id])
              if e.type == mlmd_pb2.Event.INPUT}
    assert searched.id in inputs
    with open(os.path.join(reused.uri, C.HYPERPARAMETERS_FILE)) as f_reused, \
            open(os.path.join(searched.uri, C.HYPERPARAMETERS_FILE)) as f_searched:
        assert f_reused.read() == f_searched.read()
    # The model trained on span 3 traces back to the search in span 1's run.
    [model] = _nodes(config, third)[C.TRAINER].outputs[C.MODEL_KEY]
    assert main(["lineage", "trace", str(model.id), "--output-root", config.output_root]) == 0
    text = capsys.readouterr().out
    assert f"reused from the search in run {first} on span 1 " \
           f"(hyperparameters #{searched.id})" in text, text
    assert "tuner: 2 trial(s)" in text, text


def test_enough_spans_past_the_last_search_search_again(spans):
    """Tuning policy, search path: with retune_every_spans=1 the next span searches (a run up
    to the Tuner keeps it short)."""
    from runners import local_runner
    from tests.support.pipeline_runs import UpTo, with_overrides
    config, (first, _, third), _ = spans
    add_span(Path(config.data.data_root), 4)
    run = local_runner.run(with_overrides(config, retune_every_spans=1), engine=UpTo(C.TUNER))
    nodes = _nodes(config, run.run_id)
    assert nodes[C.TUNER].state == "COMPLETE" and C.TRAINER not in nodes
    searched = _hyperparameters(config, run.run_id)
    assert _search(searched) == (0, 4, run.run_id)
    assert searched.id not in {_hyperparameters(config, r).id for r in (first, third)}
    (Path(config.data.data_root) / "span-4" / "data.csv").unlink()
    (Path(config.data.data_root) / "span-4").rmdir()


def test_gc_frees_old_files_keeps_the_serving_trace_and_a_later_run_recomputes(spans, capsys):
    """Retention on this store of three spans (run last in this module: it removes files)."""
    import json
    import os
    from tabflow.console.main import main
    from ml_metadata.proto import metadata_store_pb2 as mlmd_pb2
    from runners import local_runner
    from tests.support.pipeline_runs import UpTo, with_overrides
    config, (first, _, third), _ = spans
    # Only what the serving alias needs is kept (the test before may have rolled back to span
    # 1's version: then span 3's goes, else span 1's).
    gc = ["gc", "--keep-runs", "0", "--keep-versions", "0", "--output-root", config.output_root]

    def artifacts():
        return {a.id: a for a in open_store(config.store).get_artifacts()}

    before = artifacts()
    assert main([*gc, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "Would free" in dry and "nothing was removed" in dry
    assert artifacts() == before

    assert main(gc) == 0
    freed = capsys.readouterr().out
    import re
    assert int(re.search(r"Freed .* \((\d+) bytes\)", freed).group(1)) > 0, freed
    after = artifacts()
    removed = [a for a in after.values() if a.state == mlmd_pb2.Artifact.DELETED]
    assert removed and len(after) == len(before)  # records stay
    for a in removed:
        assert custom(a, C.FILES_REMOVED_PROPERTY) > 0
        assert not os.path.exists(a.uri), a.uri
    for a in after.values():
        if a.state == mlmd_pb2.Artifact.LIVE and a.uri.startswith(config.pipeline_root):
            assert os.path.exists(a.uri), a.uri
    # Span 3's model serves if it beat span 1's, else span 1's does: the other span's
    # Transform outputs are not in the serving model's trace, and go.
    from tabflow.registry import catalog
    [serving] = [v for v in catalog.versions(open_store(config.store), config.pipeline_name,
                                             config.serving_dir) if C.SERVING_ALIAS in v.aliases]
    graphs = {span: _nodes(config, run)[C.TRANSFORM].outputs[C.TRANSFORM_GRAPH_KEY][0].id
              for span, run in ((1, first), (3, third))}
    other = 1 if serving.span == 3 else 3
    assert after[graphs[serving.span]].state == mlmd_pb2.Artifact.LIVE
    assert after[graphs[other]].state == mlmd_pb2.Artifact.DELETED
    # The other span's serving version, if it had one, left the serving folder; its record
    # stays and says so.
    listed = {v.span: v for v in catalog.versions(open_store(config.store),
                                                   config.pipeline_name, config.serving_dir)}
    assert listed[serving.span].files_exist
    if other in listed:
        assert not listed[other].files_exist
        assert not os.path.exists(listed[other].destination)

    # The serving model's trace is whole: nothing it names lost its files.
    assert main(["lineage", "trace", "serving", "--json",
                 "--output-root", config.output_root]) == 0
    trace_text = capsys.readouterr().out
    assert json.loads(trace_text)["data"]["span"] == serving.span
    assert "files_removed_at" not in trace_text

    # A run of the other span again (up to Transform, to keep the suite short): its cached
    # Transform outputs are gone, so it computes them anew instead of failing.
    rerun = local_runner.run(with_overrides(config, span=other), engine=UpTo(C.TRANSFORM))
    nodes = _nodes(config, rerun.run_id)
    assert nodes[C.TRANSFORM].state == "COMPLETE"
    assert nodes[C.TRANSFORM].outputs[C.TRANSFORM_GRAPH_KEY][0].id != graphs[other]
