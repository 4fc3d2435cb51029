"""The taxi's own fixtures: a dozen raw trips with their expected labels, and their run through
the taxi's feature plan (label and fare inputs from hooks.py) on TFT's real Beam implementation.
The tests in this folder check the taxi's data, schema and hooks; the core's tests are in
tests/."""
from pathlib import Path

import pytest

from tests.support.transform import analyze_and_transform

FOLDER = Path(__file__).resolve().parents[1]
SCHEMA_PATH = FOLDER / "schema.pbtxt"

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

# Schema columns the rows above leave out, with plausible values.
FILLER = {"trip_start_timestamp": 1400000000, "pickup_census_tract": 17031081500,
          "dropoff_census_tract": None}


def load_schema():
    from tabflow.artifacts.schema import load_schema as load
    return load(SCHEMA_PATH)


def taxi_plan():
    """The taxi's feature plan, built as the runner builds it."""
    from pipeline.feature_plan import build_plan
    from tabflow import dataset
    return build_plan(dataset.load(str(FOLDER)), load_schema())


def full_row(row):
    """A raw row with every schema column the rows above leave out."""
    return {**FILLER, "trip_miles": row["fare"] / 2.5 + 0.1, **row}


def run_taxi_transform(raw, tmp, unseen_raw=()):
    return analyze_and_transform([full_row(r) for r in raw], tmp, load_schema(), taxi_plan(),
                                 [full_row(r) for r in unseen_raw])


@pytest.fixture(scope="session")
def transform_run(tmp_path_factory):
    """RAW_ROWS analyzed and transformed; `unseen` has payment types the analysis never saw."""
    unseen = [{**RAW_ROWS[1], "payment_type": "Prcard"}, {**RAW_ROWS[0], "payment_type": "Dispute"}]
    return run_taxi_transform(RAW_ROWS, tmp_path_factory.mktemp("transform"), unseen)


@pytest.fixture(scope="session")
def run_transform():
    """run_taxi_transform, for tests that need a run on other rows."""
    return run_taxi_transform


@pytest.fixture(scope="session")
def raw_rows():
    return RAW_ROWS
