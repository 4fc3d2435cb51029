"""pipeline.feature_plan.build_plan: the plans of the shipped datasets from their specs and
curated schemas, and the plans of datasets without any code of their own, from schemas built
here. The taxi's plan in full is data/taxi/tests/test_taxi_features.py's."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline.feature_plan import MAX_IDENTITY, build_plan
from tabflow import dataset
from tabflow.artifacts.schema import load_schema
from tabflow.dataset import SpecError

REPO = Path(__file__).resolve().parents[3]
DATASETS = sorted(p.parent for p in (REPO / "data").glob(f"*/{dataset.SPEC_FILE}"))


def schema_of(text: str) -> schema_pb2.Schema:
    return text_format.Parse(text, schema_pb2.Schema())


def feature(name, kind, domain="", extra=""):
    """A single-valued schema feature that may be missing."""
    return f'feature {{ name: "{name}" type: {kind} value_count {{ max: 1 }} {domain} {extra} }}\n'


def int_domain(low, high):
    return f"int_domain {{ min: {low} max: {high} }}"


PENGUINS = schema_of(
    feature("species", "BYTES") + feature("island", "BYTES") + feature("sex", "BYTES")
    + feature("bill_length_mm", "FLOAT") + feature("bill_depth_mm", "FLOAT")
    + feature("flipper_length_mm", "INT", int_domain(170, 235))
    + feature("body_mass_g", "INT", int_domain(2700, 6300))
    + feature("year", "INT", int_domain(2007, 2009)))

DIABETES = schema_of(
    "".join(feature(name, "FLOAT") for name in
            ("age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "target"))
    + feature("sex", "INT", int_domain(1, 2)))


def spec_of(raw: dict, folder: Path) -> dataset.DatasetSpec:
    return dataset.parse(raw, str(folder), str(folder / dataset.SPEC_FILE))


PENGUINS_SPEC = {"label": "species", "problem_type": "multiclass",
                 "classes": ["Adelie", "Chinstrap", "Gentoo"],
                 "slices": {"report": ["island"],
                            "gate": [{"column": "island", "value": "Biscoe"}]}}
DIABETES_SPEC = {"label": "target", "problem_type": "regression",
                 "thresholds": {"threshold": 60.0, "max_regression": 5.0}}


def shipped(folder: Path):
    """(spec, curated schema, plan) of a shipped dataset, built as the runner builds them."""
    spec = dataset.load(str(folder))
    schema = load_schema(folder / dataset.SCHEMA_FILE)
    return spec, schema, build_plan(spec, schema)


def test_datasets_ship():
    assert {"taxi", "penguins", "diabetes"} <= {folder.name for folder in DATASETS}


@pytest.mark.parametrize("folder", DATASETS, ids=lambda folder: folder.name)
def test_a_shipped_plan_leaves_out_the_label_excluded_columns_and_label_sources(folder):
    spec, schema, plan = shipped(folder)
    inputs = set(plan["dense"]) | set(plan["categorical_int"]) | set(plan["bucketize"]) \
        | set(plan["vocabulary"])
    left_out = {spec.label, *spec.exclude, *spec.label_sources}
    assert not inputs & left_out
    # Every schema column is an input, the label, excluded or a label source.
    columns = {f.name for f in schema.feature}
    assert inputs | (left_out & columns) == columns
    assert (plan["label"], plan["problem_type"], plan["classes"], plan["label_sources"]) == (
        spec.label, spec.problem_type, list(spec.classes), list(spec.label_sources))
    assert plan["bucketize"] == dict(spec.bucketize) and plan["hooks"] == spec.hooks


@pytest.mark.parametrize("folder", DATASETS, ids=lambda folder: folder.name)
def test_a_shipped_plan_reads_each_input_by_its_schema_type_and_domain(folder):
    _, schema, plan = shipped(folder)
    by_name = {f.name: f for f in schema.feature}
    for name in plan["vocabulary"]:
        assert by_name[name].type == schema_pb2.BYTES, name

    def small_range(feature):
        domain = feature.int_domain
        return feature.HasField("int_domain") and domain.HasField("min") \
            and domain.HasField("max") and 0 <= domain.min and domain.max <= MAX_IDENTITY

    for name in plan["dense"]:
        feature = by_name[name]
        assert feature.type == schema_pb2.FLOAT \
            or feature.type == schema_pb2.INT and not small_range(feature), name
    # Sizes as the curated domains give them: max + 1 ids for a small non-negative range.
    for name, size in plan["categorical_int"].items():
        feature = by_name[name]
        assert feature.type == schema_pb2.INT and small_range(feature), name
        assert size == feature.int_domain.max + 1, name


@pytest.mark.parametrize("folder", DATASETS, ids=lambda folder: folder.name)
def test_plan_is_json(folder):
    plan = shipped(folder)[2]
    # It travels in custom_config, which TFX stores as JSON.
    assert json.loads(json.dumps(plan)) == plan


def test_penguins_plan(tmp_path):
    plan = build_plan(spec_of(PENGUINS_SPEC, tmp_path), PENGUINS)
    assert plan == {
        "label": "species", "label_xf": "species_xf", "problem_type": "multiclass",
        "classes": ["Adelie", "Chinstrap", "Gentoo"],
        # Integer ranges wider than MAX_IDENTITY (and years) are quantities.
        "dense": ["bill_depth_mm", "bill_length_mm", "body_mass_g", "flipper_length_mm",
                  "year"],
        "categorical_int": {}, "bucketize": {}, "vocabulary": ["island", "sex"],
        "label_sources": [], "hooks": None,
    }


def test_regression_plan(tmp_path):
    plan = build_plan(spec_of(DIABETES_SPEC, tmp_path), DIABETES)
    assert plan["problem_type"] == "regression"
    assert plan["label"] == "target" and plan["label_xf"] == "target_xf"
    assert plan["classes"] == []
    assert plan["dense"] == ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert plan["categorical_int"] == {"sex": 3}
    assert plan["vocabulary"] == [] and plan["bucketize"] == {}


@pytest.mark.parametrize("domain,size", [
    (int_domain(0, MAX_IDENTITY), MAX_IDENTITY + 1),
    (int_domain(0, MAX_IDENTITY + 1), None),
    (int_domain(-1, 5), None),
    ("int_domain { max: 5 }", None),
    ("", None),
])
def test_identity_rule(tmp_path, domain, size):
    schema = schema_of(feature("y", "INT") + feature("x", "INT", domain))
    plan = build_plan(spec_of({"label": "y", "problem_type": "binary"}, tmp_path), schema)
    if size is None:
        assert plan["dense"] == ["x"] and plan["categorical_int"] == {}
    else:
        assert plan["categorical_int"] == {"x": size} and plan["dense"] == []


def test_identity_rule_reads_a_named_schema_domain(tmp_path):
    schema = schema_of(feature("y", "INT") + 'feature { name: "x" type: INT domain: "small" }'
                       + 'int_domain { name: "small" min: 1 max: 9 }')
    plan = build_plan(spec_of({"label": "y", "problem_type": "binary"}, tmp_path), schema)
    assert plan["categorical_int"] == {"x": 10}


def test_deprecated_features_are_not_inputs(tmp_path):
    schema = schema_of(feature("y", "INT") + feature("x", "FLOAT")
                       + 'feature { name: "old" type: FLOAT lifecycle_stage: DEPRECATED }')
    plan = build_plan(spec_of({"label": "y", "problem_type": "binary"}, tmp_path), schema)
    assert plan["dense"] == ["x"]


@pytest.mark.parametrize("raw,key", [
    ({**PENGUINS_SPEC, "features": {"exclude": ["beak"]}}, "features.exclude"),
    ({**PENGUINS_SPEC, "features": {"label_sources": ["beak"]}}, "features.label_sources"),
    ({**PENGUINS_SPEC, "features": {"bucketize": {"beak": 4}}}, "features.bucketize"),
    ({**PENGUINS_SPEC, "slices": {"report": ["beak"]}}, "slices.report"),
    ({**PENGUINS_SPEC, "slices": {"gate": [{"column": "beak", "value": "x"}]}},
     "slices.gate[0].column"),
    ({**PENGUINS_SPEC, "label": "kind"}, "label"),
])
def test_a_column_the_schema_lacks_is_one_line_naming_file_and_key(tmp_path, raw, key):
    with pytest.raises(ValueError) as e:
        build_plan(spec_of(raw, tmp_path), PENGUINS)
    message = str(e.value)
    assert isinstance(e.value, SpecError) and "\n" not in message
    assert message.startswith(f"{tmp_path / 'dataset.yaml'}: {key}: ")


def test_only_numbers_are_bucketized(tmp_path):
    raw = {**PENGUINS_SPEC, "features": {"bucketize": {"island": 4}}}
    with pytest.raises(SpecError, match=r"features\.bucketize\.island: only a numeric column"):
        build_plan(spec_of(raw, tmp_path), PENGUINS)


def test_a_regression_label_is_a_number(tmp_path):
    raw = {**DIABETES_SPEC, "label": "island"}
    with pytest.raises(SpecError, match=r": label: a regression label must be a number"):
        build_plan(spec_of(raw, tmp_path), PENGUINS)


def test_a_hook_may_derive_a_label_the_schema_lacks(tmp_path):
    (tmp_path / "hooks.py").write_text("")
    raw = {**PENGUINS_SPEC, "label": "kind", "hooks": "hooks.py"}
    plan = build_plan(spec_of(raw, tmp_path), PENGUINS)
    assert plan["label"] == "kind" and plan["hooks"] == str(tmp_path / "hooks.py")
    assert "species" in plan["vocabulary"]


def test_builds_without_tensorflow():
    folders = [str(folder) for folder in DATASETS]
    code = ("import os, sys; from pipeline.feature_plan import build_plan; "
            "from tabflow import dataset; from tabflow.artifacts.schema import load_schema; "
            f"[build_plan(dataset.load(f), load_schema(os.path.join(f, dataset.SCHEMA_FILE))) "
            f"for f in {folders!r}]; "
            "assert 'tensorflow' not in sys.modules, 'TensorFlow was imported'")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
