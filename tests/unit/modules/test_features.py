"""modules.features and modules.hooks against the taxi's data, schema and hooks: the model's
inputs, their sizes, and loading a dataset's hooks module."""
import csv
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from modules import features as F
from modules import hooks as H
from tabflow import dataset
from tests.conftest import REPO, TAXI_FOLDER, load_schema, taxi_plan

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
def spec():
    return dataset.load(str(TAXI_FOLDER))


@pytest.fixture(scope="module")
def plan():
    return taxi_plan()


@pytest.fixture(scope="module")
def taxi_hooks(plan):
    return H.of(plan)


@pytest.fixture(scope="module")
def csv_columns(spec):
    # The spans live in the dataset folder, or where they lived before datasets had one.
    root = next(p for p in (Path(spec.data_root), REPO / "data" / "taxi" / "spans")
                if (p / "span-1").is_dir())
    with open(next((root / "span-1").glob("*.csv")), newline="") as f:
        return next(csv.reader(f))


@pytest.fixture(scope="module")
def schema_features():
    return {f.name: f for f in load_schema().feature}


def plan_columns(plan):
    return (plan["dense"] + list(plan["categorical_int"]) + list(plan["bucketize"])
            + plan["vocabulary"])


def test_taxi_model_inputs(plan, taxi_hooks):
    dense, categorical = F.model_inputs(plan, taxi_hooks.derived_sizes())
    assert {**{k: 0 for k in dense}, **categorical} == TAXI_INPUTS
    assert len(dense) + len(categorical) == len(TAXI_INPUTS)
    names = F.model_input_names(plan, taxi_hooks.derived_sizes())
    assert len(names) == len(set(names)) and set(names) == set(TAXI_INPUTS)
    # Stable order: the same list on every call.
    assert names == F.model_input_names(plan, taxi_hooks.derived_sizes())


def test_every_csv_column_is_accounted_for(plan, spec, csv_columns):
    known = set(plan_columns(plan)) | set(spec.exclude) | set(spec.label_sources)
    assert set(csv_columns) == known
    assert spec.label not in csv_columns  # the hooks derive it


def test_label_sources_are_not_model_inputs(plan, spec, csv_columns, schema_features):
    assert spec.label_sources == ("tips",)
    for key in spec.label_sources:
        assert key not in plan_columns(plan)
        assert key in csv_columns and key in schema_features


def test_slice_columns_are_csv_columns(spec, csv_columns):
    assert set(spec.report_slices) <= set(csv_columns)
    assert {s.column for s in spec.gated_slices} <= set(csv_columns)


def test_category_sizes_cover_schema_domains(plan, schema_features):
    # Clipping to [0, size-1] must not merge valid values.
    for key, size in plan["categorical_int"].items():
        domain = schema_features[key].int_domain
        assert domain.min >= 0 and domain.max <= size - 1, key


def test_transformed_name():
    assert F.transformed_name("fare") == "fare_xf"
    assert F.transformed_name("big_tipper") == "big_tipper_xf"


def test_no_dataset_column_is_named_in_the_core(schema_features):
    # The taxi's columns belong to data/taxi; the core reads them from the plan and hooks.
    core = [REPO / "pipeline" / "feature_plan.py", *sorted((REPO / "modules").glob("*.py"))]
    names = set(schema_features) | {"big_tipper", "taxi"}
    for path in core:
        text = path.read_text()
        assert not [n for n in names if re.search(rf"\b{n}\b", text)], path


def test_taxi_label_from_raw_matches_the_rule(taxi_hooks):
    fare = np.array([10.0, 10.0, 0.0, np.nan, 25.0, 5.0])
    tips = np.array([2.0, 2.5, 3.0, 1.0, np.nan, 1.5])
    # A tip of exactly 20% is not a big tip; a zero or missing fare never is; NaN compares
    # false, like the transform's zero fill.
    assert taxi_hooks.label_from_raw({"fare": fare, "tips": tips}).tolist() == [
        False, True, False, False, False, True]


def write_hooks(folder, text):
    folder.mkdir()
    path = folder / "hooks.py"
    path.write_text(text)
    return path


def test_hooks_of_two_datasets_do_not_collide(tmp_path):
    first = write_hooks(tmp_path / "one", "VALUE = 'one'\n")
    second = write_hooks(tmp_path / "two", "VALUE = 'two'\n")
    a, b = H.load(str(first)), H.load(str(second))
    assert (a.VALUE, b.VALUE) == ("one", "two")
    assert a.__name__ != b.__name__
    assert sys.modules[a.__name__] is a and sys.modules[b.__name__] is b
    # Loaded once per process, whichever way the path is spelled.
    assert H.load(str(tmp_path / "one" / ".." / "one" / "hooks.py")) is a


def test_missing_hooks_file_is_one_line(tmp_path):
    with pytest.raises(ValueError, match=r"hooks\.py: hooks file not found$"):
        H.load(str(tmp_path / "hooks.py"))


def test_hooks_that_fail_to_import_are_not_cached(tmp_path):
    path = write_hooks(tmp_path / "bad", "raise RuntimeError('broken')\n")
    with pytest.raises(RuntimeError, match="broken"):
        H.load(str(path))
    assert H.module_name(str(path)) not in sys.modules
    path.write_text("VALUE = 1\n")
    assert H.load(str(path)).VALUE == 1


def test_derived_sizes_without_hooks():
    assert H.derived_sizes({"hooks": None}) == {}
    assert H.of({"hooks": None}) is None
