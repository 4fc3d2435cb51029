"""End-to-end: the full pipeline on LocalDagRunner with a real SQLite MLMD store."""
import csv
import json
import os
from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2

from tabflow.metadata import runs as mlmd_runs
from tests.support.pipeline_runs import (COMPONENTS, RESOLVER, RESOLVERS, SMALL, snapshot,
                                         with_overrides, write_broken_column)
from tests.support.default_dataset import facts, latest_span_files

pytestmark = pytest.mark.e2e


def _states(snap):
    return {node: [r.state for r in records] for node, records in snap.by_node().items()}


def _artifacts_of_type(store, type_name):
    return store.get_artifacts_by_type(type_name)


def _pushed_models(store):
    return [a for a in _artifacts_of_type(store, "PushedModel")
            if a.custom_properties["pushed"].int_value == 1]


def test_first_run_executes_every_component_once(three_runs):
    assert three_runs[0].run_id.startswith("local-")
    states = _states(three_runs[0])
    for node in COMPONENTS:
        assert states.get(node) == ["COMPLETE"], f"{node}: {states.get(node)}"
    assert set(states) == set(COMPONENTS) | RESOLVERS
    assert len(three_runs[0].result.pushed) == 1


def test_pushed_model_lineage_reaches_data_schema_transform_hparams_and_blessing(
        three_runs, store, e2e_config):
    first = three_runs[0].by_node()
    pushed = first["Pusher"][0].outputs["pushed_model"][0]
    graph = store.get_lineage_subgraph(metadata_store_pb2.LineageSubgraphQueryOptions(
        starting_artifacts=metadata_store_pb2.LineageSubgraphQueryOptions.StartingNodes(
            filter_query=f"id = {pushed.id}"),
        max_num_hops=20,
        direction=metadata_store_pb2.LineageSubgraphQueryOptions.UPSTREAM))
    upstream = {a.id for a in graph.artifacts}

    def produced(node, key):
        return first[node][0].outputs[key][0]

    expected = {
        "Examples": produced("CsvExampleGen", "examples"),
        "curated Schema": produced("ImportSchemaGen", "schema"),
        "TransformGraph": produced("Transform", "transform_graph"),
        "HyperParameters": produced("Tuner", "best_hyperparameters"),
        "ModelBlessing": produced("Evaluator", "blessing"),
        "Model": produced("Trainer", "model"),
    }
    for what, artifact in expected.items():
        assert artifact.id in upstream, f"{what} (artifact {artifact.id}) not upstream of push"
    # The schema the model was built from is byte-for-byte the curated file.
    curated = Path(e2e_config.data.schema_path).read_text()
    imported = Path(expected["curated Schema"].uri, "schema.pbtxt").read_text()
    assert imported == curated
    # The inferred schema is recorded but is not what the model depends on.
    assert produced("SchemaGen", "schema").id not in upstream


def test_retrained_model_is_judged_against_the_first_and_pushed(three_runs, store):
    states = _states(three_runs[1])
    # More train steps: the provenance (it records the config) and the Trainer run again, and
    # the new model is evaluated and pushed; data, schema, transform and tuning are reused.
    executed = {"RunProvenance", "Trainer", "Evaluator", "Pusher"}
    for node in executed:
        assert states[node] == ["COMPLETE"], f"{node}: {states[node]}"
    for node in set(COMPONENTS) - executed:
        assert states[node] == ["CACHED"], f"{node}: {states[node]}"
    first, second = three_runs[0].by_node(), three_runs[1].by_node()
    first_model = first["Trainer"][0].outputs["model"][0].id
    assert second["Trainer"][0].outputs["model"][0].id != first_model
    # The baseline is the first run's blessed model, as resolved and as the Evaluator read it.
    resolver = second[RESOLVER][0]
    resolved = {}
    for event in store.get_events_by_execution_ids([resolver.id]):
        if event.path.steps[0].key in ("model", "model_blessing"):
            resolved.setdefault(event.path.steps[0].key, []).append(event.artifact_id)
    assert resolved == {"model": [first_model],
                        "model_blessing": [first["Evaluator"][0].outputs["blessing"][0].id]}
    inputs = {event.path.steps[0].key: event.artifact_id
              for event in store.get_events_by_execution_ids([second["Evaluator"][0].id])
              if event.type == event.INPUT}
    assert inputs["baseline_model"] == first_model
    assert len(three_runs[1].result.pushed) == 1


def test_an_unchanged_rerun_pushes_nothing_and_each_model_serves_once(three_runs, e2e_config,
                                                                      store):
    pushed = {run.run_id: run.pushed for run in mlmd_runs.list_runs(store, e2e_config.pipeline_name)}
    assert [pushed[snap.run_id] for snap in three_runs] == [True, True, False]
    # One serving version per model, each recorded with the model it holds (other e2e files
    # may push models of their own into this folder: count the shared runs' two models).
    serving = Path(e2e_config.serving_dir)
    versions = sorted(p.name for p in serving.iterdir() if p.name.isdigit())
    records = [json.loads(p.read_text()) for p in (serving / ".model-sources").glob("*.json")]
    assert sorted(r["version"] for r in records) == versions
    held = [r["model_uri"] for r in records]
    for snap in three_runs[:2]:
        assert held.count(snap.by_node()["Trainer"][0].outputs["model"][0].uri) == 1


def test_third_run_is_fully_cached_and_publishes_nothing(three_runs):
    states = _states(three_runs[2])
    for node in COMPONENTS:
        assert states[node] == ["CACHED"], f"{node}: {states[node]}"
    assert three_runs[2].artifact_count == three_runs[1].artifact_count


def _latest_span_csv(config) -> Path:
    [path] = latest_span_files(config.data.data_root)
    return path


def _positive(spec, rows, types) -> list:
    """Each row's label as the pipeline derives it: the dataset's hooks from the raw columns
    when it has them, else its label column against the positive class."""
    import numpy as np
    from tensorflow_metadata.proto.v0 import schema_pb2
    if not spec.hooks:
        positive = spec.classes[1] if spec.classes else "1"
        return [row[spec.label] == positive for row in rows]
    from modules import hooks
    numeric = {name: np.array([float(r[name]) if r[name] else np.nan for r in rows])
               for name in rows[0] if types.get(name, schema_pb2.BYTES) != schema_pb2.BYTES}
    return np.asarray(hooks.load(spec.hooks).label_from_raw(numeric)).tolist()


def test_pushed_model_scores_raw_examples(three_runs, e2e_config):
    """The binary default dataset's served model ranks the positives of its latest span's first
    rows above the negatives."""
    import tensorflow as tf
    from tensorflow_metadata.proto.v0 import schema_pb2
    from tabflow import dataset
    from tabflow.artifacts.schema import load_schema
    destination = three_runs[0].result.pushed[0]
    assert os.path.isdir(destination)
    model = tf.saved_model.load(destination)
    serve = model.signatures["serving_default"]

    spec = dataset.load(e2e_config.data.dataset)
    types = {f.name: f.type for f in load_schema(e2e_config.data.schema_path).feature}
    with open(_latest_span_csv(e2e_config), newline="") as f:
        rows = list(csv.DictReader(f))[:200]
    # What a client sends: every input but the label and what it is derived from.
    withheld = {spec.label, *spec.label_sources}
    examples = []
    for row in rows:
        feats = {}
        for key, value in row.items():
            if key in withheld or value == "":
                continue
            if types[key] == schema_pb2.BYTES:
                feats[key] = tf.train.Feature(
                    bytes_list=tf.train.BytesList(value=[value.encode()]))
            elif types[key] == schema_pb2.FLOAT:
                feats[key] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))
            else:
                feats[key] = tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[int(float(value))]))
        examples.append(tf.train.Example(features=tf.train.Features(feature=feats))
                        .SerializeToString())
    scores = serve(examples=tf.constant(examples))["outputs"].numpy().reshape(-1)
    assert scores.shape == (200,)
    assert ((scores >= 0) & (scores <= 1)).all()
    labels = _positive(spec, rows, types)
    pos = scores[[i for i, y in enumerate(labels) if y]].mean()
    neg = scores[[i for i, y in enumerate(labels) if not y]].mean()
    assert pos > neg + 0.2, (pos, neg)


def test_impossible_threshold_publishes_no_pushed_model(three_runs, e2e_config, store):
    from runners import local_runner
    pushed_before = len(_pushed_models(store))
    all_pushed_before = len(_artifacts_of_type(store, "PushedModel"))
    strict = with_overrides(e2e_config, threshold=1.0)
    result = local_runner.run(strict)
    snap = snapshot(strict, result)
    nodes = snap.by_node()
    assert [r.state for r in nodes["Evaluator"]] == ["COMPLETE"]
    blessing = nodes["Evaluator"][0].outputs["blessing"][0]
    assert blessing.custom_properties["blessed"].int_value == 0
    assert "Pusher" not in nodes or all(not r.outputs for r in nodes["Pusher"])
    assert result.pushed == []
    assert len(_artifacts_of_type(store, "PushedModel")) == all_pushed_before
    assert len(_pushed_models(store)) == pushed_before


def test_broken_column_stops_at_the_gate(three_runs, e2e_config, store, tmp_path):
    import subprocess
    import sys
    data = tmp_path / "broken"
    (data / "span-1").mkdir(parents=True)
    write_broken_column(_latest_span_csv(e2e_config), data / "span-1" / "data.csv")
    models_before = len(_artifacts_of_type(store, "Model"))
    # Through the console's old name, kept as an alias of `tabflow`.
    cli = Path(sys.executable).with_name("taxi-pipeline")
    args = [str(cli), "run", "--output-root", e2e_config.output_root, "--data-root", str(data)]
    for key, value in SMALL.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "AnomalyGate" in proc.stdout and "FAILED" in proc.stdout
    assert facts().slice_column in proc.stderr
    assert "Transform" in proc.stderr  # says what will not run
    # TFX's own log lines went to the log file, not the terminal.
    assert "absl" not in proc.stdout and "INFO" not in proc.stdout
    assert "Component CsvExampleGen is running" in Path(e2e_config.log_file).read_text()

    run = mlmd_runs.resolve_run(store, e2e_config.pipeline_name, mlmd_runs.LATEST)
    nodes = {}
    for record in mlmd_runs.run_executions(store, e2e_config.pipeline_name, run.run_id):
        nodes.setdefault(record.node_id, []).append(record.state)
    assert nodes["AnomalyGate"] == ["FAILED"]
    assert nodes["CsvExampleGen"] == ["COMPLETE"]
    for node in ("Transform", "Tuner", "Trainer", "Evaluator", "Pusher"):
        assert node not in nodes
    assert len(_artifacts_of_type(store, "Model")) == models_before


def test_schema_propose_reads_the_latest_inferred_schema(three_runs, e2e_config, store,
                                                         tmp_path, capsys):
    from tabflow.console.main import main
    curated_before = Path(e2e_config.data.schema_path).read_text()
    out = tmp_path / "proposal.pbtxt"
    assert main(["schema", "propose", "--output-root", e2e_config.output_root,
                 "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    inferred = max((a for a in store.get_artifacts_by_type("Schema") if "/SchemaGen/" in a.uri),
                   key=lambda a: a.id)
    assert f"inferred schema: {inferred.uri}/schema.pbtxt" in printed
    statistics = max((a for a in store.get_artifacts_by_type("ExampleStatistics")
                      if "/StatisticsGen/" in a.uri), key=lambda a: a.id)
    assert f"statistics:      {statistics.uri}/Split-train/FeatureStats.pb" in printed
    assert Path(e2e_config.data.schema_path).read_text() == curated_before
    if "nothing to propose" not in printed:
        assert out.exists()
