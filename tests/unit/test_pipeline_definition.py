"""The pipeline definition, compiled but not run."""
import json
import shutil

import pytest

from pipeline.config import PipelineConfig


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from pipeline.pipeline import create_pipeline
    config = PipelineConfig.from_flat(output_root=str(tmp_path_factory.mktemp("def")))
    return config, create_pipeline(config)


def _by_id(pipeline):
    return {c.id: c for c in pipeline.components}


def test_nodes_of_the_definition(built):
    _, pipeline = built
    assert set(_by_id(pipeline)) == {
        "RunProvenance", "CsvCheck", "CsvExampleGen", "StatisticsGen", "SchemaGen",
        "ImportSchemaGen", "ExampleValidator", "AnomalyGate", "drift_baseline_resolver",
        "DriftGate", "Transform", "tuning_reuse_resolver", "Tuner", "Trainer", "latest_blessed_model_resolver",
        "Evaluator", "Pusher"}


def test_drift_gate_sits_after_the_anomaly_gate_and_before_transform(built):
    _, pipeline = built
    nodes = _by_id(pipeline)
    assert nodes["AnomalyGate"] in nodes["DriftGate"].upstream_nodes
    assert nodes["drift_baseline_resolver"] in nodes["DriftGate"].upstream_nodes
    assert nodes["DriftGate"] in nodes["Transform"].upstream_nodes


def test_gate_sits_between_validation_and_transform(built):
    _, pipeline = built
    nodes = _by_id(pipeline)
    assert nodes["AnomalyGate"] in nodes["Transform"].upstream_nodes
    assert nodes["ExampleValidator"] in nodes["AnomalyGate"].upstream_nodes
    # Validation uses the curated schema, not the one inferred this run.
    assert nodes["ImportSchemaGen"] in nodes["ExampleValidator"].upstream_nodes
    assert nodes["SchemaGen"] not in nodes["ExampleValidator"].upstream_nodes
    assert nodes["SchemaGen"] not in nodes["Transform"].upstream_nodes


def test_trainer_uses_tuned_hyperparameters_and_evaluator_the_baseline(built):
    _, pipeline = built
    nodes = _by_id(pipeline)
    assert nodes["Tuner"] in nodes["Trainer"].upstream_nodes
    assert nodes["latest_blessed_model_resolver"] in nodes["Evaluator"].upstream_nodes
    assert nodes["Evaluator"] in nodes["Pusher"].upstream_nodes


def test_caching_on_and_code_fingerprinted(built):
    config, pipeline = built
    assert pipeline.enable_cache
    nodes = _by_id(pipeline)
    shas = {json.loads(nodes[n].exec_properties["custom_config"])["code_sha256"]
            for n in ("Transform", "Tuner", "Trainer")}
    # Each runs different code (tests/unit/test_fingerprints.py).
    assert len(shas) == 3 and all(len(sha) == 64 for sha in shas)
    assert json.loads(nodes["Tuner"].exec_properties["custom_config"])["max_trials"] == \
        config.training.tuner_trials


def test_schema_content_is_part_of_the_cache_key(tmp_path):
    from pipeline.pipeline import create_pipeline
    schema = tmp_path / "schema.pbtxt"
    shutil.copy(PipelineConfig().data.schema_path, schema)
    config = PipelineConfig.from_flat(output_root=str(tmp_path / "out"),
                                      schema_path=str(schema))
    before = _by_id(create_pipeline(config))["ImportSchemaGen"].exec_properties
    schema.write_text(schema.read_text() + "\n# reviewed again\n")
    after = _by_id(create_pipeline(config))["ImportSchemaGen"].exec_properties
    assert before["schema_file"] == after["schema_file"]
    assert before["schema_sha256"] != after["schema_sha256"]


def test_missing_schema_file_is_named(tmp_path):
    from pipeline.pipeline import create_pipeline
    missing = tmp_path / "nope.pbtxt"
    with pytest.raises(FileNotFoundError, match="nope.pbtxt"):
        create_pipeline(PipelineConfig.from_flat(output_root=str(tmp_path),
                                                 schema_path=str(missing)))


def test_latest_span_by_default_and_a_chosen_span_on_request(tmp_path):
    from pipeline.pipeline import create_pipeline
    latest = _by_id(create_pipeline(PipelineConfig.from_flat(output_root=str(tmp_path))))
    assert "span-{SPAN}" in latest["CsvExampleGen"].exec_properties["input_config"]
    assert not latest["CsvExampleGen"].exec_properties.get("range_config")
    chosen = _by_id(create_pipeline(PipelineConfig.from_flat(output_root=str(tmp_path), span=2)))
    static = json.loads(chosen["CsvExampleGen"].exec_properties["range_config"])["static_range"]
    assert static == {"start_span_number": 2, "end_span_number": 2}
    with pytest.raises(FileNotFoundError, match="span 9"):
        create_pipeline(PipelineConfig.from_flat(output_root=str(tmp_path), span=9))


def test_provenance_records_code_schema_lock_and_runner(built):
    config, pipeline = built
    props = _by_id(pipeline)["RunProvenance"].exec_properties
    files = json.loads(props["file_sha256_json"])
    assert {"modules/trainer.py", "modules/transform.py", "schema/schema.pbtxt",
            "requirements.lock"} <= set(files)
    assert props["runner"] == "local"
    recorded = json.loads(props["config_json"])
    assert recorded["training"]["train_steps"] == config.training.train_steps
    assert len(props["git_commit"]) == 40 or props["git_commit"] == "unknown"
