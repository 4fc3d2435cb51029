"""The feature constants in modules.features agree with the data and the curated schema."""
import csv
from pathlib import Path

import pytest

from modules import features as F
from pipeline import contract

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def csv_columns():
    with open(REPO / "data" / "spans" / "span-1" / "data.csv", newline="") as f:
        return next(csv.reader(f))


@pytest.fixture(scope="module")
def schema_features():
    from artifacts.schema import load_schema
    return {f.name: f for f in load_schema(REPO / "schema" / "schema.pbtxt").feature}


def test_model_inputs_are_csv_columns(csv_columns):
    missing = set(F.model_input_features()) - set(csv_columns)
    assert not missing


def test_model_inputs_are_schema_features(schema_features):
    missing = set(F.model_input_features()) - set(schema_features)
    assert not missing


def test_model_input_features_are_unique_and_complete():
    inputs = F.model_input_features()
    assert len(inputs) == len(set(inputs))
    assert set(inputs) == (set(F.DENSE_FLOAT_FEATURES) | set(F.CATEGORICAL_INT_FEATURES)
                           | set(F.BUCKET_FEATURES) | set(F.VOCAB_FEATURES))
    # The groups do not overlap.
    groups = [F.DENSE_FLOAT_FEATURES, list(F.CATEGORICAL_INT_FEATURES), F.BUCKET_FEATURES,
              F.VOCAB_FEATURES]
    assert sum(len(g) for g in groups) == len(inputs)
    # Stable order: the same list on every call.
    assert F.model_input_features() == inputs


def test_every_csv_column_is_accounted_for(csv_columns):
    known = set(F.model_input_features()) | set(F.UNUSED_FEATURES) | set(F.RAW_LABEL_SOURCES)
    assert set(csv_columns) == known


def test_label_sources_are_not_model_inputs(csv_columns, schema_features):
    assert F.TIPS_KEY in F.RAW_LABEL_SOURCES
    for key in F.RAW_LABEL_SOURCES:
        assert key not in F.model_input_features()
        assert key in csv_columns and key in schema_features
    assert F.LABEL_KEY not in F.model_input_features()
    assert F.LABEL_KEY not in csv_columns
    assert F.FARE_KEY in csv_columns
    assert not set(F.UNUSED_FEATURES) & set(F.model_input_features())


def test_slice_features_are_csv_columns(csv_columns):
    assert set(contract.SLICE_COLUMNS) <= set(csv_columns)


def test_schema_types_match_feature_groups(schema_features):
    from tensorflow_metadata.proto.v0 import schema_pb2
    for key in F.DENSE_FLOAT_FEATURES + F.BUCKET_FEATURES:
        assert schema_features[key].type in (schema_pb2.FLOAT, schema_pb2.INT), key
    for key in F.CATEGORICAL_INT_FEATURES:
        assert schema_features[key].type == schema_pb2.INT, key
    for key in F.VOCAB_FEATURES:
        assert schema_features[key].type == schema_pb2.BYTES, key


def test_category_sizes_cover_schema_domains(schema_features):
    # Clipping to [0, size-1] must not merge valid values.
    for key, size in F.CATEGORICAL_INT_FEATURES.items():
        domain = schema_features[key].int_domain
        assert domain.min >= 0 and domain.max <= size - 1, key


def test_transformed_name():
    assert F.transformed_name("fare") == "fare_xf"
    names = F.model_input_names()
    assert len(set(names)) == len(names)
    assert names[:len(F.model_input_features())] == [
        F.transformed_name(k) for k in F.model_input_features()]
    assert F.transformed_name(F.LABEL_KEY) != F.LABEL_KEY
