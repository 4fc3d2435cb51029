"""A dataset's feature plan run through TFT's real Beam implementation, as TFX Transform runs
it: for the unit tests of modules/transform.py and of the serving signatures."""
import functools
from pathlib import Path
from typing import Dict, Iterable, List, Optional


def instance(row: Dict, spec: Dict, filler: Optional[Dict] = None) -> Dict:
    """One raw row as a TFT instance dict covering every schema feature.

    Features not in `row` take `filler`'s value; None becomes [] (VarLen features only).
    """
    import tensorflow as tf
    filler = filler or {}
    out = {}
    for name, feature in spec.items():
        value = row[name] if name in row else filler[name]
        if value is None:
            assert isinstance(feature, tf.io.VarLenFeature), f"{name} is required by the schema"
            out[name] = []
        elif feature.dtype == tf.string:
            out[name] = [value.encode()]
        elif feature.dtype == tf.int64:
            out[name] = [int(value)]
        else:
            out[name] = [float(value)]
    return out


def analyze_and_transform(raw: List[Dict], tmp, schema, plan: Dict,
                          unseen_raw: Iterable[Dict] = (),
                          filler: Optional[Dict] = None) -> Dict:
    """preprocessing_fn through TFT's Beam implementation: analyze and transform `raw` rows of
    `schema` with feature `plan`, the plan passed as TFX Transform passes custom_config.

    Returns a dict: transformed (rows, in input order), unseen (`unseen_raw` transformed with the
    same transform_fn), transform_dir (WriteTransformFn output).
    """
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io, schema_utils

    from modules.transform import preprocessing_fn

    preprocessing_fn = functools.partial(preprocessing_fn, custom_config={"plan": plan})
    spec = schema_utils.schema_as_feature_spec(schema).feature_spec
    metadata = dataset_metadata.DatasetMetadata(schema)
    transform_dir = str(Path(tmp) / "transform_output")
    unseen_raw = list(unseen_raw)
    with tft_beam.Context(temp_dir=str(Path(tmp) / "tft_tmp")):
        (transformed, _), transform_fn = (
            ([instance(r, spec, filler) for r in raw], metadata)
            | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn))
        _ = transform_fn | tft_beam.WriteTransformFn(transform_dir)
        unseen = []
        if unseen_raw:
            unseen, _ = (([instance(r, spec, filler) for r in unseen_raw], metadata),
                         transform_fn) | tft_beam.TransformDataset()
    # Like TFX Transform, also store the raw metadata (TFTransformOutput.raw_feature_spec).
    metadata_io.write_metadata(metadata, str(Path(transform_dir) / "metadata"))
    return {"transformed": transformed, "unseen": unseen, "transform_dir": transform_dir}
