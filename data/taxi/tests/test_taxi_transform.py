"""The generic preprocessing_fn on the taxi's plan, through TFT's real Beam implementation: its
label and fare inputs from hooks.py, its bucketized coordinates, clipped categories and
vocabularies."""
import numpy as np
import pytest

from modules import features as F
from modules import hooks as H
from conftest import taxi_plan

XF = F.transformed_name
PLAN = taxi_plan()
TAXI = H.of(PLAN)
LABEL = PLAN["label_xf"]


@pytest.fixture(scope="module")
def rows(transform_run):
    return transform_run["transformed"]


def column(rows, key):
    return np.array([r[key] for r in rows])


def test_outputs_are_label_plus_every_model_input(raw_rows, rows):
    expected = set(F.model_input_names(PLAN, TAXI.derived_sizes())) | {LABEL}
    assert LABEL == "big_tipper_xf"
    assert len(rows) == len(raw_rows)
    for r in rows:
        assert set(r) == expected


def test_row_order_is_preserved(raw_rows, rows):
    # The per-row checks below rely on output order matching raw_rows; z-scoring is monotonic.
    fares = np.array([r["fare"] for r in raw_rows])
    fare_xf = column(rows, XF("fare"))
    assert np.array_equal(np.argsort(fares, kind="stable"), np.argsort(fare_xf, kind="stable"))


def test_label_is_big_tipper(raw_rows, rows):
    got = column(rows, LABEL).tolist()
    assert got == [r["label"] for r in raw_rows]
    # Same thing from the rule itself, in float32 like the graph.
    for r, label in zip(raw_rows, got):
        fare, tips = np.float32(r["fare"]), np.float32(r["tips"])
        assert label == int(fare > 0 and tips > np.float32(TAXI.BIG_TIPPER_FRACTION) * fare)


def test_label_edge_cases(raw_rows, rows):
    labels = column(rows, LABEL)
    exactly_20 = [i for i, r in enumerate(raw_rows)
                  if r["fare"] > 0 and r["tips"] == 0.2 * r["fare"]]
    zero_fare = [i for i, r in enumerate(raw_rows) if r["fare"] == 0]
    assert exactly_20 and zero_fare
    assert (labels[exactly_20] == 0).all(), "a tip of exactly 20% is not a big tip"
    assert (labels[zero_fare] == 0).all(), "a zero fare never makes a big tipper, even with tips"
    assert set(labels.tolist()) == {0, 1}


@pytest.mark.parametrize("key", PLAN["dense"])
def test_dense_floats_are_z_scored(raw_rows, rows, key):
    x = column(rows, XF(key)).astype(np.float64)
    assert x.shape == (len(raw_rows),)
    assert abs(x.mean()) < 1e-5
    # Scaled over the mean-filled column (population variance), so std over all rows is 1.
    assert x.std() == pytest.approx(1.0, abs=1e-4)
    raw = np.array([r.get(key) if key in r else r["fare"] / 2.5 + 0.1 for r in raw_rows],
                   dtype=object)
    present = np.array([v is not None for v in raw])
    # Order is kept: a larger raw value never gets a smaller z-score.
    order = np.argsort(raw[present].astype(float), kind="stable")
    assert (np.diff(x[present][order]) >= -1e-6).all()


def test_fare_tip_steps(raw_rows, rows):
    fares = np.array([r["fare"] for r in raw_rows], dtype=np.float32)
    step = column(rows, "fare_tip_step_xf")
    slack = column(rows, "fare_tip_slack_xf")
    assert np.issubdtype(step.dtype, np.integer)
    want = np.clip(np.floor(fares / np.float32(TAXI.FARE_TIP_STEP)), 0, TAXI.FARE_TIP_STEPS - 1)
    assert step.tolist() == want.astype(int).tolist()
    # A fare of exactly $10 starts the third step: a $2 tip is then exactly 20%, not more.
    np.testing.assert_allclose(
        slack, fares / TAXI.FARE_TIP_STEP - np.floor(fares / TAXI.FARE_TIP_STEP), atol=1e-5)
    assert ((slack >= 0) & (slack < 1)).all()


def test_fare_buckets_follow_the_fare(raw_rows, rows):
    b = column(rows, "fare_bucket_xf")
    assert np.issubdtype(b.dtype, np.integer)
    assert ((b >= 0) & (b < TAXI.FARE_QUANTILE_BUCKETS)).all()
    fares = np.array([r["fare"] for r in raw_rows])
    order = np.argsort(fares, kind="stable")
    assert (np.diff(b[order]) >= 0).all()
    assert len(set(b.tolist())) > 1


def test_missing_trip_seconds_become_zero(raw_rows, rows):
    missing = [i for i, r in enumerate(raw_rows) if r["trip_seconds"] is None]
    assert missing
    x = column(rows, XF("trip_seconds"))
    assert np.allclose(x[missing], 0.0, atol=1e-6)
    assert not np.allclose(np.delete(x, missing), 0.0)


@pytest.mark.parametrize("key,count", list(PLAN["bucketize"].items()))
def test_bucketized_coordinates(raw_rows, rows, key, count):
    b = column(rows, XF(key))
    assert np.issubdtype(b.dtype, np.integer)
    missing = np.array([r[key] is None for r in raw_rows])
    assert missing.any() and (~missing).any()
    assert (b[missing] == count).all()
    assert ((b[~missing] >= 0) & (b[~missing] < count)).all()
    # Buckets follow the coordinate order.
    values = np.array([r[key] for r in raw_rows if r[key] is not None])
    order = np.argsort(values, kind="stable")
    assert (np.diff(b[~missing][order]) >= 0).all()


def test_missing_coordinates_do_not_move_bucket_boundaries(raw_rows, rows, run_transform,
                                                           tmp_path):
    # Analyze again with four more trips that have no coordinates at all. The present
    # coordinates are the same, and missing ones have their own bucket, so no row's bucket
    # may change.
    no_coords = [{**r, **{k: None for k in PLAN["bucketize"]}} for r in raw_rows[:4]]
    again = run_transform(raw_rows + no_coords, tmp_path)["transformed"][:len(raw_rows)]
    changed = {k: [(r[k], old[XF(k)], new[XF(k)])
                   for r, old, new in zip(raw_rows, rows, again) if old[XF(k)] != new[XF(k)]]
               for k in PLAN["bucketize"]}
    assert not any(changed.values()), f"(raw, bucket before, after adding rows): {changed}"


@pytest.mark.parametrize("key,size", list(PLAN["categorical_int"].items()))
def test_categorical_ints_clipped(raw_rows, rows, key, size):
    got = column(rows, XF(key))
    for r, value in zip(raw_rows, got):
        raw = r[key]
        expected = 0 if raw is None else min(max(raw, 0), size - 1)
        assert value == expected, (key, raw, value)


def test_out_of_range_and_missing_community_areas(raw_rows, rows):
    got = {k: column(rows, XF(k)) for k in ("pickup_community_area", "dropoff_community_area",
                                            "trip_start_hour", "trip_start_month")}
    clipped = 9  # the row with raw values 90, 99, 30, 14
    assert got["pickup_community_area"][clipped] == 77
    assert got["dropoff_community_area"][clipped] == 77
    assert got["trip_start_hour"][clipped] == 23
    assert got["trip_start_month"][clipped] == 12
    missing_pickup = raw_rows.index(next(r for r in raw_rows if r["pickup_community_area"] is None))
    assert got["pickup_community_area"][missing_pickup] == 0
    missing_dropoff = [i for i, r in enumerate(raw_rows) if r["dropoff_community_area"] is None]
    assert missing_dropoff and (got["dropoff_community_area"][missing_dropoff] == 0).all()


@pytest.mark.parametrize("key", PLAN["vocabulary"])
def test_vocab_features_in_range(rows, key):
    ids = column(rows, XF(key))
    assert np.issubdtype(ids.dtype, np.integer)
    assert ((ids >= 0) & (ids < F.VOCAB_SIZE + F.OOV_BUCKETS)).all()


def test_payment_type_vocabulary(raw_rows, transform_run, rows):
    import tensorflow_transform as tft
    output = tft.TFTransformOutput(transform_run["transform_dir"])
    vocab = [v.decode() for v in output.vocabulary_by_name("payment_type")]
    assert sorted(vocab) == ["Cash", "Credit Card"]
    ids = column(rows, XF("payment_type"))
    for r, i in zip(raw_rows, ids):
        assert vocab[i] == r["payment_type"]


def test_unseen_payment_type_goes_to_oov_bucket(transform_run):
    import tensorflow_transform as tft
    output = tft.TFTransformOutput(transform_run["transform_dir"])
    n_vocab = len(output.vocabulary_by_name("payment_type"))
    unseen = transform_run["unseen"]
    assert len(unseen) == 2
    for r in unseen:
        assert n_vocab <= r[XF("payment_type")] < n_vocab + F.OOV_BUCKETS


def test_missing_company_is_not_in_vocabulary(raw_rows, transform_run, rows):
    # TFT drops empty strings from vocabularies, so a missing company hashes into an OOV bucket.
    import tensorflow_transform as tft
    output = tft.TFTransformOutput(transform_run["transform_dir"])
    vocab = output.vocabulary_by_name("company")
    assert b"" not in vocab
    ids = column(rows, XF("company"))
    missing = [i for i, r in enumerate(raw_rows) if r["company"] is None]
    assert missing and (ids[missing] >= len(vocab)).all()
    assert len(set(ids[missing].tolist())) == 1
