"""The taxi's model inputs (its columns and the inputs its hooks derive from the fare) and its
label rule."""
import numpy as np
import pytest

from modules import features as F
from modules import hooks as H
from tabflow import dataset
from conftest import FOLDER, taxi_plan

# The transformed inputs the taxi model has always taken, with their category counts (0: dense).
TAXI_INPUTS = {
    "fare_xf": 0, "trip_miles_xf": 0, "trip_seconds_xf": 0, "fare_tip_slack_xf": 0,
    "trip_start_hour_xf": 24, "trip_start_day_xf": 8, "trip_start_month_xf": 13,
    "pickup_community_area_xf": 78, "dropoff_community_area_xf": 78,
    "pickup_latitude_xf": 11, "pickup_longitude_xf": 11, "dropoff_latitude_xf": 11,
    "dropoff_longitude_xf": 11,
    "payment_type_xf": F.VOCAB_SIZE + F.OOV_BUCKETS, "company_xf": F.VOCAB_SIZE + F.OOV_BUCKETS,
    "fare_tip_step_xf": 16, "fare_bucket_xf": 32,
}


@pytest.fixture(scope="module")
def plan():
    return taxi_plan()


@pytest.fixture(scope="module")
def taxi_hooks(plan):
    return H.of(plan)


def test_taxi_plan():
    assert taxi_plan() == {
        "label": "big_tipper",
        "label_xf": "big_tipper_xf",
        "problem_type": "binary",
        "classes": [],
        "dense": ["fare", "trip_miles", "trip_seconds"],
        # Sizes as the curated domains give them: hour 0..23, day 1..7, month 1..12, community
        # areas 1..77.
        "categorical_int": {"dropoff_community_area": 78, "pickup_community_area": 78,
                            "trip_start_day": 8, "trip_start_hour": 24, "trip_start_month": 13},
        "bucketize": {"dropoff_latitude": 10, "dropoff_longitude": 10, "pickup_latitude": 10,
                      "pickup_longitude": 10},
        "vocabulary": ["company", "payment_type"],
        "label_sources": ["tips"],
        "hooks": str(FOLDER / "hooks.py"),
    }


def test_taxi_model_inputs(plan, taxi_hooks):
    dense, categorical = F.model_inputs(plan, taxi_hooks.derived_sizes())
    assert {**{k: 0 for k in dense}, **categorical} == TAXI_INPUTS
    assert len(dense) + len(categorical) == len(TAXI_INPUTS)
    names = F.model_input_names(plan, taxi_hooks.derived_sizes())
    assert len(names) == len(set(names)) and set(names) == set(TAXI_INPUTS)


def test_the_label_is_derived_from_the_tips_which_the_model_never_sees():
    spec = dataset.load(str(FOLDER))
    assert spec.label == "big_tipper" and spec.label_sources == ("tips",)


def test_taxi_label_from_raw_matches_the_rule(taxi_hooks):
    # The gate and the transform share this rule.
    fare = np.array([10.0, 10.0, 0.0, np.nan, 25.0, 5.0, 10.0])
    tips = np.array([2.0, 2.5, 3.0, 1.0, np.nan, 1.5, 0.0])
    # A tip of exactly 20% is not a big tip, nor is no tip; a zero or missing fare never is;
    # NaN compares false, like the transform's zero fill.
    assert np.asarray(taxi_hooks.label_from_raw({"fare": fare, "tips": tips})).tolist() == [
        False, True, False, False, False, True, False]
