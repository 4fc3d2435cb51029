"""The pipeline definition, compiled but not run."""
import json
import shutil

import pytest

from tabflow.config import PipelineConfig


def _build(config, **kwargs):
    from pipeline.inputs import gather
    from pipeline.pipeline import create_pipeline
    return create_pipeline(config, gather(config, kwargs.get("runner", "local")), **kwargs)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    config = PipelineConfig.from_flat(output_root=str(tmp_path_factory.mktemp("def")))
    return config, _build(config)


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
    # Each runs different code (tests/unit/pipeline/test_fingerprints.py).
    assert len(shas) == 3 and all(len(sha) == 64 for sha in shas)
    assert json.loads(nodes["Tuner"].exec_properties["custom_config"])["max_trials"] == \
        config.training.tuner_trials


def test_schema_content_is_part_of_the_cache_key(tmp_path):
    schema = tmp_path / "schema.pbtxt"
    shutil.copy(PipelineConfig().data.schema_path, schema)
    config = PipelineConfig.from_flat(output_root=str(tmp_path / "out"),
                                      schema_path=str(schema))
    before = _by_id(_build(config))["ImportSchemaGen"].exec_properties
    schema.write_text(schema.read_text() + "\n# reviewed again\n")
    after = _by_id(_build(config))["ImportSchemaGen"].exec_properties
    assert before["schema_file"] == after["schema_file"]
    assert before["schema_sha256"] != after["schema_sha256"]


def test_missing_schema_file_is_named(tmp_path):
    missing = tmp_path / "nope.pbtxt"
    with pytest.raises(FileNotFoundError, match="nope.pbtxt"):
        _build(PipelineConfig.from_flat(output_root=str(tmp_path),
                                                 schema_path=str(missing)))


def test_latest_span_by_default_and_a_chosen_span_on_request(tmp_path):
    latest = _by_id(_build(PipelineConfig.from_flat(output_root=str(tmp_path))))
    assert "span-{SPAN}" in latest["CsvExampleGen"].exec_properties["input_config"]
    assert not latest["CsvExampleGen"].exec_properties.get("range_config")
    chosen = _by_id(_build(PipelineConfig.from_flat(output_root=str(tmp_path), span=2)))
    static = json.loads(chosen["CsvExampleGen"].exec_properties["range_config"])["static_range"]
    assert static == {"start_span_number": 2, "end_span_number": 2}
    with pytest.raises(FileNotFoundError, match="span 9"):
        _build(PipelineConfig.from_flat(output_root=str(tmp_path), span=9))


def test_provenance_records_code_schema_lock_and_runner(built):
    config, pipeline = built
    props = _by_id(pipeline)["RunProvenance"].exec_properties
    files = json.loads(props["file_sha256_json"])
    assert {"modules/trainer.py", "modules/transform.py", "data/taxi/schema.pbtxt",
            "requirements.lock"} <= set(files)
    assert props["runner"] == "local"
    recorded = json.loads(props["config_json"])
    assert recorded["training"]["train_steps"] == config.training.train_steps
    assert len(props["git_commit"]) == 40 or props["git_commit"] == "unknown"


def test_the_definition_reads_no_file(tmp_path):
    """Everything the definition needs is gathered first: with the dataset folder gone, the
    definition still builds from what was gathered."""
    from pipeline.inputs import gather
    from pipeline.pipeline import create_pipeline
    folder = tmp_path / "taxi"
    shutil.copytree(PipelineConfig().data.dataset, folder,
                    ignore=shutil.ignore_patterns("span-1", "span-2", "span-3"))
    config = PipelineConfig.from_flat(output_root=str(tmp_path / "out"), dataset=str(folder))
    inputs = gather(config)
    shutil.rmtree(folder)
    nodes = _by_id(create_pipeline(config, inputs))
    assert nodes["CsvCheck"].exec_properties["data_root"] == str(folder / "spans")


@pytest.mark.parametrize("dataset", ["taxi", "penguins", "diabetes"])
def test_every_shipped_dataset_builds_with_its_own_name_and_plan(tmp_path, dataset):
    from tabflow.config import PROJECT_ROOT
    folder = PROJECT_ROOT / "data" / dataset
    if not (folder / "dataset.yaml").exists():
        pytest.skip(f"{folder} is not shipped")
    config = PipelineConfig.from_flat(output_root=str(tmp_path), dataset=str(folder))
    assert config.pipeline_name == dataset
    nodes = _by_id(_build(config))
    plan = json.loads(nodes["Transform"].exec_properties["custom_config"])["plan"]
    assert plan == json.loads(nodes["Trainer"].exec_properties["custom_config"])["plan"]
    assert nodes["AnomalyGate"].exec_properties["label"] == plan["label"]
