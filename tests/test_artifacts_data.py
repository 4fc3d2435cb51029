"""The data artifacts' readers: schemas, on real tensorflow_metadata protos written into
artifact-shaped folders."""
from pathlib import Path

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from artifacts import schema

REPO = Path(__file__).resolve().parents[1]
CURATED = REPO / "schema"


def test_curated_schema_is_read_with_every_feature():
    parsed = schema.read_schema(str(CURATED))
    assert parsed == schema.load_schema(CURATED / "schema.pbtxt")
    features = schema.schema_features(str(CURATED))
    assert list(features) == [f.name for f in parsed.feature] and len(features) == 18
    assert features["payment_type"] == "BYTES, fixed shape"
    assert features["trip_start_hour"] == "INT, fixed shape"
    assert features["company"] == "BYTES, varlen"
    assert features["pickup_latitude"] == "FLOAT, varlen"


def test_schema_as_schemagen_writes_it(tmp_path):
    # Canonical text, with a string holding braces and a '#'.
    written = schema_pb2.Schema()
    feature = written.feature.add(name="a", type=schema_pb2.BYTES)
    feature.shape.dim.add(size=1)
    feature.string_domain.value.extend(["{x}", "# not a comment"])
    written.feature.add(name="b", type=schema_pb2.FLOAT).presence.min_fraction = 0.5
    (tmp_path / "schema.pbtxt").write_text(text_format.MessageToString(written))
    assert schema.read_schema(str(tmp_path)) == written
    assert schema.schema_features(str(tmp_path)) == {"a": "BYTES, fixed shape",
                                                     "b": "FLOAT, varlen"}
    assert schema.schema_features(str(tmp_path / "missing")) is None


def test_schema_parse_error_names_the_file(tmp_path):
    (tmp_path / "schema.pbtxt").write_text('feature { name: "x" type: NOT_A_TYPE }\n')
    with pytest.raises(ValueError, match="schema.pbtxt: not a valid text-format Schema"):
        schema.schema_features(str(tmp_path))


def test_schema_differences_name_added_removed_and_changed_features():
    old = {"a": "INT, fixed shape", "b": "FLOAT, varlen"}
    new = {"a": "INT, varlen", "c": "BYTES, varlen"}
    assert schema.schema_differences(old, new) == [
        "+ c (BYTES, varlen)", "- b", "~ a: INT, fixed shape -> INT, varlen"]
    assert schema.schema_differences(None, new) == []
