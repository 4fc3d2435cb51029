"""modules.model.build_keras_model for each problem type, and the serving signatures from
modules.trainer."""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from modules import features as F
from modules import hooks as H
from modules.model import DEFAULT_HPARAMS, build_keras_model, layer_units, search_space
from tabflow.compat.autograph import skip_autograph_for_tf_keras
from tests.support.serving import export, tf_example

# As the Tuner and Trainer do before they fit: converting tf_keras's own code would cost most
# of this file's time.
skip_autograph_for_tf_keras()

# A binary dataset with every kind of input the plan knows.
PLAN = {
    "label": "churned", "label_xf": "churned_xf", "problem_type": "binary", "classes": [],
    "dense": ["amount", "duration"], "categorical_int": {"weekday": 7},
    "bucketize": {"latitude": 10}, "vocabulary": ["region", "plan_name"], "label_sources": [],
    "hooks": None,
}
DENSE, CATEGORICAL = F.model_inputs(PLAN, {})
INPUT_NAMES = sorted(DENSE + list(CATEGORICAL))

PENGUINS_PLAN = {
    "label": "species", "label_xf": "species_xf", "problem_type": "multiclass",
    "classes": ["Adelie", "Chinstrap", "Gentoo"],
    # A column name Keras could not take as a layer name.
    "dense": ["bill length (mm)", "body_mass_g"], "categorical_int": {}, "bucketize": {},
    "vocabulary": ["island", "sex"], "label_sources": [], "hooks": None,
}
DIABETES_PLAN = {
    "label": "target", "label_xf": "target_xf", "problem_type": "regression", "classes": [],
    "dense": ["age", "bmi", "bp"], "categorical_int": {"sex": 3}, "bucketize": {},
    "vocabulary": [], "label_sources": [], "hooks": None,
}


def dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, tf_keras.layers.Dense)]


def random_batch(plan=PLAN, n=5, seed=0):
    rng = np.random.default_rng(seed)
    dense, categorical = F.model_inputs(plan, H.derived_sizes(plan))
    batch = {name: rng.normal(size=(n, 1)).astype("float32") for name in dense}
    for name, size in categorical.items():
        batch[name] = rng.integers(0, size, size=(n, 1)).astype("int64")
    return batch


def metric_names(model, x, y):
    """The compiled metrics by name, as the Tuner and TensorBoard see them."""
    return set(model.evaluate(x, y, verbose=0, return_dict=True)) - {"loss"}


@pytest.fixture(scope="module")
def default_model():
    return build_keras_model(DEFAULT_HPARAMS, PLAN)


def test_default_model_inputs(default_model):
    assert sorted(default_model.input) == INPUT_NAMES
    for name in INPUT_NAMES:
        want = "float32" if name in DENSE else "int64"
        assert default_model.get_layer(name).dtype == want, name
    assert set(INPUT_NAMES) == {"amount_xf", "duration_xf", "weekday_xf", "latitude_xf",
                                "region_xf", "plan_name_xf"}


def test_model_is_tf_keras(default_model):
    # Keras 2 (tf-keras), as Transform, TFMA and the Trainer's SavedModel export expect.
    assert isinstance(default_model, tf_keras.Model)
    assert type(default_model).__module__.startswith("tf_keras")
    assert tf.keras.Model is tf_keras.Model


def test_default_model_shape(default_model):
    dense = dense_layers(default_model)
    hidden, out = dense[:-1], dense[-1]
    assert len(hidden) == DEFAULT_HPARAMS["num_layers"]
    # A tapering 64-32 stack.
    assert [layer.units for layer in hidden] == [64, 32]
    assert out.units == 1 and out.name == "probability"
    assert not any(isinstance(l, tf_keras.layers.Dropout) for l in default_model.layers)
    assert default_model.optimizer.learning_rate.numpy() == pytest.approx(
        DEFAULT_HPARAMS["learning_rate"])


def test_binary_output_is_probability(default_model):
    assert isinstance(default_model.loss, tf_keras.losses.BinaryCrossentropy)
    assert metric_names(default_model, random_batch(n=8), np.arange(8) % 2) == {"auc", "accuracy"}
    y = default_model(random_batch(n=8), training=False).numpy()
    assert y.shape == (8, 1)
    assert ((y >= 0) & (y <= 1)).all()


@pytest.fixture(scope="module")
def multiclass_model():
    return build_keras_model(DEFAULT_HPARAMS, PENGUINS_PLAN)


def test_multiclass_output_is_one_probability_per_class(multiclass_model):
    assert isinstance(multiclass_model.loss, tf_keras.losses.SparseCategoricalCrossentropy)
    assert metric_names(multiclass_model, random_batch(PENGUINS_PLAN, n=6),
                        np.arange(6) % 3) == {"accuracy"}
    y = multiclass_model(random_batch(PENGUINS_PLAN, n=6), training=False).numpy()
    assert y.shape == (6, 3)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_input_names_keep_the_column_and_layer_names_are_valid(multiclass_model):
    assert "bill length (mm)_xf" in multiclass_model.input
    layer = multiclass_model.input["bill length (mm)_xf"]._keras_history.layer
    assert layer.name == "bill_length__mm__xf"
    # Trains on a dict keyed by the transformed names.
    history = multiclass_model.fit(random_batch(PENGUINS_PLAN, n=8), np.arange(8) % 3,
                                   epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and "accuracy" in history.history


def test_regression_output_is_in_the_label_units():
    model = build_keras_model(DEFAULT_HPARAMS, DIABETES_PLAN, label_scale=(150.0, 80.0))
    assert isinstance(model.loss, tf_keras.losses.MeanSquaredError)
    batch = random_batch(DIABETES_PLAN, n=4)
    assert metric_names(model, batch, np.full(4, 150.0)) == {"rmse"}
    y = model(batch, training=False).numpy()
    assert y.shape == (4, 1)
    standardized = tf_keras.Model(model.input, model.get_layer("standardized_prediction").output)
    np.testing.assert_allclose(y, standardized(batch).numpy() * 80.0 + 150.0, rtol=1e-5)


def test_search_space_defaults_match_default_hparams():
    hp = search_space()
    assert {k: hp.get(k) for k in DEFAULT_HPARAMS} == DEFAULT_HPARAMS


def test_layer_units_taper():
    assert layer_units(64, 3) == [64, 32, 16]
    assert layer_units(32, 3) == [32, 16, 8]
    assert layer_units(16, 3) == [16, 8, 8]


@pytest.mark.parametrize("num_layers,hidden_units,dropout", [(1, 32, 0.0), (3, 64, 0.1)])
def test_hyperparameters_respected(num_layers, hidden_units, dropout):
    hp = search_space()
    hp.values.update({"num_layers": num_layers, "hidden_units": hidden_units,
                      "dropout": dropout, "learning_rate": 3e-3})
    model = build_keras_model(hp, PLAN)
    assert isinstance(model, tf_keras.Model)
    assert sorted(model.input) == INPUT_NAMES
    hidden = dense_layers(model)[:-1]
    assert len(hidden) == num_layers
    assert [layer.units for layer in hidden] == layer_units(hidden_units, num_layers)
    dropouts = [l for l in model.layers if isinstance(l, tf_keras.layers.Dropout)]
    assert len(dropouts) == (num_layers if dropout else 0)
    assert all(l.rate == dropout for l in dropouts)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(3e-3)
    y = model(random_batch(n=4), training=False).numpy()
    assert y.shape == (4, 1) and ((y >= 0) & (y <= 1)).all()


# --- exported signatures -------------------------------------------------------------------

def test_multiclass_serving_takes_examples_without_the_label(tmp_path_factory):
    from tests.unit.modules.test_transform import PENGUIN_ROWS, penguins_run
    run = penguins_run(tmp_path_factory)
    exported = export(run, run["plan"], tmp_path_factory)
    serve = exported["loaded"].signatures["serving_default"]
    rows = [{k: v for k, v in r.items() if k != "species"} for r in PENGUIN_ROWS]
    y = serve(examples=tf.constant([tf_example(r) for r in rows]))["outputs"].numpy()
    assert y.shape == (len(rows), 3)
    np.testing.assert_allclose(y, exported["expected"], rtol=1e-4, atol=1e-5)
    transformed = exported["loaded"].signatures["transform_features"](
        examples=tf.constant([tf_example(r) for r in PENGUIN_ROWS]))
    assert transformed["species_xf"].numpy().tolist() == [
        run["plan"]["classes"].index(r["species"]) for r in PENGUIN_ROWS]


def test_autograph_leaves_tf_keras_alone():
    from tensorflow.python.autograph.core import config as autograph_config
    from tensorflow.python.autograph.impl import conversion
    skip_autograph_for_tf_keras()
    skip_autograph_for_tf_keras()  # idempotent: one rule
    rules = [r for r in autograph_config.CONVERSION_RULES
             if isinstance(r, autograph_config.DoNotConvert) and r.matches("tf_keras")]
    assert len(rules) == 1
    assert not conversion.is_allowlisted(build_keras_model)  # our code is still converted
    assert conversion.is_allowlisted(tf_keras.Model.train_step)
