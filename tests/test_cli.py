"""The taxi-pipeline console entry point, called in-process (no pipeline run)."""
import json
import shutil

import pytest

from artifacts.schema import load_schema
from pipeline import schema_proposal
from pipeline.config import PipelineConfig
from runners.cli import main


def test_config_shows_overrides_from_flags_and_env(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TAXI_EVAL_STEPS", "33")
    assert main(["config", "--train-steps", "7", "--output-root", str(tmp_path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["train_steps"] == 7
    assert shown["eval_steps"] == 33
    assert shown["metadata_path"] == str(tmp_path / "metadata.sqlite")


def test_bad_setting_is_named(capsys):
    assert main(["config", "--train-steps", "many"]) == 2
    err = capsys.readouterr().err
    assert "--train-steps" in err and "many" in err


@pytest.fixture
def curated_copy(tmp_path):
    path = tmp_path / "schema.pbtxt"
    shutil.copy(PipelineConfig().schema_path, path)
    return path


def _inferred_with_new_payment_type(curated_path, tmp_path):
    schema = load_schema(curated_path)
    domain = next(d for d in schema.string_domain if d.name == "payment_type") \
        if any(d.name == "payment_type" for d in schema.string_domain) else None
    if domain is None:
        feature = next(f for f in schema.feature if f.name == "payment_type")
        feature.string_domain.value.append("Mobile")
    else:
        domain.value.append("Mobile")
    path = tmp_path / "inferred.pbtxt"
    path.write_text(schema_proposal.schema_to_text(schema))
    return path


def test_schema_propose_writes_a_proposal_and_leaves_the_curated_file(
        capsys, curated_copy, tmp_path):
    before = curated_copy.read_text()
    inferred = _inferred_with_new_payment_type(curated_copy, tmp_path)
    out = tmp_path / "proposal.pbtxt"
    assert main(["schema", "propose", "--schema-path", str(curated_copy),
                 "--inferred", str(inferred), "--output", str(out),
                 "--output-root", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "Mobile" in printed and "+" in printed
    assert "unchanged" in printed
    assert curated_copy.read_text() == before
    assert "Mobile" in out.read_text()


def test_schema_propose_apply_replaces_only_when_asked(capsys, curated_copy, tmp_path):
    inferred = _inferred_with_new_payment_type(curated_copy, tmp_path)
    assert main(["schema", "propose", "--schema-path", str(curated_copy),
                 "--inferred", str(inferred), "--output", str(tmp_path / "p.pbtxt"),
                 "--output-root", str(tmp_path), "--apply"]) == 0
    assert "Mobile" in curated_copy.read_text()


def test_schema_propose_without_a_store_says_run_first(curated_copy, tmp_path):
    with pytest.raises(SystemExit, match="run the pipeline first"):
        main(["schema", "propose", "--schema-path", str(curated_copy),
              "--output-root", str(tmp_path / "empty")])
