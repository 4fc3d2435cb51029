"""The feature plan: which transform each column of a dataset gets, decided from its spec
(dataset.yaml) and its curated schema. Transform, Tuner and Trainer read it from
custom_config["plan"]; being plain JSON, it travels in the components' exec properties and so
enters their cache keys.

The rules: the label, its sources and the excluded columns are never inputs; the spec's
bucketize columns become quantile buckets; an INT column whose schema domain is a small
non-negative range is a category of its own per value; other numbers are z-scored; strings go
through a vocabulary.

Pure python and protobuf (no TensorFlow): the runner builds the plan while it defines the
pipeline.
"""
from typing import Dict, Optional

from tensorflow_metadata.proto.v0 import schema_pb2

from modules.features import transformed_name
from tabflow.dataset import REGRESSION, DatasetSpec, SpecError

# The largest int_domain max read as category ids: a wider integer range is a quantity.
MAX_IDENTITY = 100

# Features TFX's example parser leaves out (tfx_bsl's tensor_representation_util), so the
# transform never sees them.
_UNREAD_STAGES = (schema_pb2.DEPRECATED, schema_pb2.DISABLED, schema_pb2.PLANNED,
                  schema_pb2.ALPHA, schema_pb2.DEBUG_ONLY, schema_pb2.VALIDATION_DERIVED)
_NUMERIC = (schema_pb2.INT, schema_pb2.FLOAT)


def _read_features(schema: schema_pb2.Schema) -> Dict[str, schema_pb2.Feature]:
    return {f.name: f for f in schema.feature
            if not f.deprecated and f.lifecycle_stage not in _UNREAD_STAGES}


def _identity_size(feature: schema_pb2.Feature, schema: schema_pb2.Schema) -> Optional[int]:
    """max + 1 when the INT feature's domain is 0..MAX_IDENTITY at most, else None."""
    domain = feature.int_domain if feature.HasField("int_domain") else next(
        (d for d in schema.int_domain if feature.domain and d.name == feature.domain), None)
    if domain is None or not (domain.HasField("min") and domain.HasField("max")):
        return None
    if domain.min >= 0 and domain.max <= MAX_IDENTITY:
        return int(domain.max) + 1
    return None


def build_plan(spec: DatasetSpec, schema: schema_pb2.Schema) -> dict:
    """The plan of `spec`'s dataset over its curated `schema`. A column the spec names that the
    schema lacks, or one whose type its role cannot take, is a SpecError (a ValueError) of one
    line naming the spec file and key."""
    path = spec.spec_path
    features = _read_features(schema)

    def fail(key: str, message: str) -> None:
        raise SpecError(f"{path}: {key}: {message}")

    if spec.label not in features and not spec.hooks:
        fail("label", f"column {spec.label!r} is not in the schema, and no hooks derive it")
    if spec.problem_type == REGRESSION and spec.label in features \
            and features[spec.label].type not in _NUMERIC:
        fail("label", f"a regression label must be a number; {spec.label!r} is "
                      f"{schema_pb2.FeatureType.Name(features[spec.label].type)} in the schema")
    named = [("features.exclude", spec.exclude), ("features.label_sources", spec.label_sources),
             ("features.bucketize", tuple(spec.bucketize)), ("slices.report", spec.report_slices)]
    named += [(f"slices.gate[{i}].column", (s.column,)) for i, s in enumerate(spec.gated_slices)]
    for key, columns in named:
        for column in columns:
            if column not in features:
                fail(key, f"column {column!r} is not in the schema")
    for column in spec.bucketize:
        if features[column].type not in _NUMERIC:
            fail(f"features.bucketize.{column}", "only a numeric column can be bucketized")

    not_inputs = {spec.label, *spec.label_sources, *spec.exclude, *spec.bucketize}
    dense, categorical_int, vocabulary = [], {}, []
    for name in sorted(features):
        if name in not_inputs:
            continue
        feature = features[name]
        if feature.type == schema_pb2.BYTES:
            vocabulary.append(name)
        elif feature.type in _NUMERIC:
            size = _identity_size(feature, schema) if feature.type == schema_pb2.INT else None
            if size is None:
                dense.append(name)
            else:
                categorical_int[name] = size
        else:
            fail("features.exclude", f"column {name!r} is "
                 f"{schema_pb2.FeatureType.Name(feature.type)} in the schema, which the model "
                 f"cannot read; exclude it")
    return {
        "label": spec.label,
        "label_xf": transformed_name(spec.label),
        "problem_type": spec.problem_type,
        "classes": list(spec.classes),
        "dense": dense,
        "categorical_int": categorical_int,
        "bucketize": {k: int(spec.bucketize[k]) for k in sorted(spec.bucketize)},
        "vocabulary": vocabulary,
        "label_sources": list(spec.label_sources),
        "hooks": spec.hooks,
    }
