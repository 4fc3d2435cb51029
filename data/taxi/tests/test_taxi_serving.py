"""The taxi's model as the Trainer exports it, fit on the taxi's raw trips through its feature
plan: its serving signature takes tf.Examples without the label's sources (tips) and gives the
numbers the in-memory model gives; its transform signature is the one Transform ran."""
import numpy as np
import pytest
import tensorflow as tf

from modules import features as F
from modules import hooks as H
from modules.model import DEFAULT_HPARAMS, build_keras_model
from tabflow.compat.autograph import skip_autograph_for_tf_keras
from tests.support.serving import export, tf_example
from conftest import full_row, taxi_plan

skip_autograph_for_tf_keras()

PLAN = taxi_plan()
TAXI = H.of(PLAN)
DENSE, CATEGORICAL = F.model_inputs(PLAN, TAXI.derived_sizes())
INPUT_NAMES = sorted(DENSE + list(CATEGORICAL))


def test_the_model_takes_the_plan_and_the_hooks_inputs():
    model = build_keras_model(DEFAULT_HPARAMS, PLAN)
    assert sorted(model.input) == INPUT_NAMES
    for name in INPUT_NAMES:
        want = "float32" if name in DENSE else "int64"
        assert model.get_layer(name).dtype == want, name
    assert set(TAXI.derived_sizes()) <= set(INPUT_NAMES)


@pytest.fixture(scope="module")
def exported(transform_run, tmp_path_factory):
    return export(transform_run, PLAN, tmp_path_factory)


def test_signature_names(exported):
    assert set(exported["loaded"].signatures) == {"serving_default", "transform_features"}


def test_serving_default_takes_examples_without_label_sources(exported, raw_rows):
    serve = exported["loaded"].signatures["serving_default"]
    rows = [{k: v for k, v in full_row(r).items() if k not in PLAN["label_sources"]}
            for r in raw_rows]
    assert all("tips" not in r for r in rows)
    out = serve(examples=tf.constant([tf_example(r) for r in rows]))
    assert set(out) == {"outputs"}
    y = out["outputs"].numpy()
    assert y.shape == (len(rows), 1)
    assert ((y >= 0) & (y <= 1)).all()
    # Same numbers as the in-memory model on the Beam-transformed rows: the served transform
    # graph is the one Transform ran.
    np.testing.assert_allclose(y, exported["expected"], rtol=1e-4, atol=1e-5)


def test_serving_default_single_example(exported, raw_rows):
    serve = exported["loaded"].signatures["serving_default"]
    row = {k: v for k, v in full_row(raw_rows[3]).items() if k != "tips"}
    y = serve(examples=tf.constant([tf_example(row)]))["outputs"].numpy()
    assert y.shape == (1, 1)


def test_transform_features_signature(exported, raw_rows, transform_run):
    transform = exported["loaded"].signatures["transform_features"]
    out = transform(examples=tf.constant([tf_example(full_row(r)) for r in raw_rows]))
    assert set(out) == set(INPUT_NAMES) | {PLAN["label_xf"]}
    assert out[PLAN["label_xf"]].numpy().tolist() == [r["label"] for r in raw_rows]
    for k in INPUT_NAMES:
        got = out[k].numpy().reshape(-1)
        want = np.array([r[k] for r in transform_run["transformed"]])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=k)
