# Must run before anything imports TensorFlow: sets TF_USE_LEGACY_KERAS=1 so tf.keras is tf-keras.
import modules  # noqa: F401

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TAXI_FOLDER = REPO / "data" / "taxi"
SCHEMA_PATH = TAXI_FOLDER / "schema.pbtxt"

# Raw trips used by the transform and model tests. None = missing (only allowed for features the
# schema leaves optional, i.e. VarLen). `label` is the expected big_tipper.
_COLUMNS = ("fare", "tips", "payment_type", "company", "pickup_latitude", "pickup_longitude",
            "dropoff_latitude", "dropoff_longitude", "pickup_community_area",
            "dropoff_community_area", "trip_start_hour", "trip_start_day", "trip_start_month",
            "trip_seconds", "label")
_ROWS = [
    (10.0, 2.0, "Cash", "Flash Cab", 41.88, -87.63, 41.89, -87.62, 8, 32, 9, 2, 1, 600, 0),  # 20%
    (10.0, 2.5, "Credit Card", "Flash Cab", 41.90, -87.65, 41.95, -87.66, 6, 28, 17, 3, 5, 720, 1),
    (0.0, 3.0, "Credit Card", None, 41.97, -87.90, 41.88, -87.63, 76, 32, 5, 4, 7, 0, 0),  # fare 0
    (0.0, 0.0, "Cash", "Taxi Affiliation Services", None, None, None, None, None, 8, 23, 7, 12,
     None, 0),
    (25.0, 5.0, "Credit Card", None, 41.79, -87.75, None, None, 56, None, 0, 1, 3, 1500, 0),  # 20%
    (25.0, 6.0, "Credit Card", "Flash Cab", 41.89, -87.62, 41.90, -87.64, 8, 8, 12, 5, 8, 1400, 1),
    (7.5, 0.0, "Cash", "Taxi Affiliation Services", 41.92, -87.66, 41.93, -87.65, 7, 7, 14, 6, 10,
     None, 0),
    (12.0, 3.0, "Credit Card", None, 41.87, -87.64, 41.88, -87.63, 32, 32, 18, 7, 11, 900, 1),
    (40.0, 0.0, "Cash", "Flash Cab", 41.98, -87.91, 41.89, -87.63, 76, 8, 6, 2, 4, 2400, 0),
    # Out-of-range categories are clipped by the transform.
    (8.0, 1.0, "Cash", "Flash Cab", 41.94, -87.65, 41.94, -87.66, 90, 99, 30, 9, 14, 500, 0),
    (15.0, 4.0, "Credit Card", "Taxi Affiliation Services", 41.88, -87.62, None, None, 8, None,
     21, 1, 6, 1100, 1),
    (5.0, 1.5, "Credit Card", None, 41.90, -87.63, 41.91, -87.64, 8, 8, 22, 3, 9, 300, 1),
]
RAW_ROWS = [dict(zip(_COLUMNS, row)) for row in _ROWS]
assert len(RAW_ROWS) == 12


# Files a reviewer should look at after a run (screenshots, executed notebooks): listed at the
# end of pytest's output, so CI logs say where they are. The tests run in several worker
# processes (pytest-xdist), so each appends to one file the controlling process names and reads.
_KEPT_ENV = "TABFLOW_TEST_KEPT_FILES"


@pytest.fixture(scope="session")
def keep_file():
    def keep(label: str, path) -> None:
        with open(os.environ[_KEPT_ENV], "a", encoding="utf-8") as listing:
            listing.write(f"{label}: {path}\n")
    return keep


def pytest_terminal_summary(terminalreporter):
    listing = Path(os.environ.get(_KEPT_ENV, ""))
    if listing.is_file() and listing.read_text():
        terminalreporter.section("files to look at")
        for line in listing.read_text().splitlines():
            terminalreporter.write_line(line)


def pytest_configure(config):
    # google-api-core (pulled in by TFX) warns on every import that Python 3.10 is unsupported.
    config.addinivalue_line(
        "filterwarnings", "ignore:You are using a non-supported Python version:FutureWarning")
    if not hasattr(config, "workerinput"):  # the controlling process; workers inherit the name
        handle, name = tempfile.mkstemp(prefix="kept-files-", suffix=".txt")
        os.close(handle)
        os.environ[_KEPT_ENV] = name


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput"):
        name = os.environ.pop(_KEPT_ENV, None)
        if name:
            Path(name).unlink(missing_ok=True)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """End-to-end files first, unit tests after. Each file runs whole on one worker
    (--dist loadfile) and workers take files in this order, so the long files start at once and
    the many short unit files fill the end instead of one long file running alone."""
    items.sort(key=lambda item: 0 if "/e2e/" in item.nodeid or item.nodeid.startswith("tests/e2e")
               else 1)


def load_schema():
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2
    return text_format.Parse(SCHEMA_PATH.read_text(), schema_pb2.Schema())


def taxi_plan():
    """The taxi's feature plan, built as the runner builds it."""
    from pipeline.feature_plan import build_plan
    from tabflow import dataset
    return build_plan(dataset.load(str(TAXI_FOLDER)), load_schema())


def raw_feature_spec(schema=None):
    from tensorflow_transform.tf_metadata import schema_utils
    return schema_utils.schema_as_feature_spec(
        load_schema() if schema is None else schema).feature_spec


def instance(row, spec):
    """One raw row as a TFT instance dict covering every schema feature.

    Features not in `row` get a plausible constant; None becomes [] (VarLen features only).
    """
    import tensorflow as tf
    filler = {"trip_start_timestamp": 1400000000, "trip_miles": row.get("fare", 0) / 2.5 + 0.1,
              "pickup_census_tract": 17031081500, "dropoff_census_tract": None}
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


def analyze_and_transform(raw, tmp, unseen_raw=(), schema=None, plan=None):
    """preprocessing_fn through TFT's Beam implementation: analyze and transform `raw` rows of
    `schema` with feature `plan` (the taxi's by default), the plan passed as TFX Transform
    passes custom_config.

    Returns a dict: transformed (rows, in input order), unseen (`unseen_raw` transformed with the
    same transform_fn), transform_dir (WriteTransformFn output).
    """
    import functools

    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io

    from modules.transform import preprocessing_fn

    schema = load_schema() if schema is None else schema
    preprocessing_fn = functools.partial(
        preprocessing_fn, custom_config={"plan": taxi_plan() if plan is None else plan})
    spec = raw_feature_spec(schema)
    metadata = dataset_metadata.DatasetMetadata(schema)
    transform_dir = str(Path(tmp) / "transform_output")
    with tft_beam.Context(temp_dir=str(Path(tmp) / "tft_tmp")):
        (transformed, _), transform_fn = (
            ([instance(r, spec) for r in raw], metadata)
            | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn))
        _ = transform_fn | tft_beam.WriteTransformFn(transform_dir)
        unseen = []
        if unseen_raw:
            unseen, _ = (([instance(r, spec) for r in unseen_raw], metadata), transform_fn) \
                | tft_beam.TransformDataset()
    # Like TFX Transform, also store the raw metadata (TFTransformOutput.raw_feature_spec).
    metadata_io.write_metadata(metadata, str(Path(transform_dir) / "metadata"))
    return {"transformed": transformed, "unseen": unseen, "transform_dir": transform_dir}


@pytest.fixture(scope="session")
def transform_run(tmp_path_factory):
    """RAW_ROWS analyzed and transformed; `unseen` has payment types the analysis never saw."""
    unseen = [{**RAW_ROWS[1], "payment_type": "Prcard"}, {**RAW_ROWS[0], "payment_type": "Dispute"}]
    return analyze_and_transform(RAW_ROWS, tmp_path_factory.mktemp("transform"), unseen)


@pytest.fixture(scope="session")
def run_transform():
    """analyze_and_transform, for tests that need a run on other rows."""
    return analyze_and_transform


@pytest.fixture(scope="session")
def raw_rows():
    return RAW_ROWS
