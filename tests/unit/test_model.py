"""modules.model.build_keras_model and the serving signatures from modules.trainer."""
import keras_tuner
import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from modules import features as F
from modules.model import DEFAULT_HPARAMS, build_keras_model, layer_units, search_space
from modules.trainer import make_serving_signatures

INPUT_NAMES = sorted(F.model_input_names())


def dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, tf_keras.layers.Dense)]


def random_batch(n=5, seed=0):
    rng = np.random.default_rng(seed)
    batch = {F.transformed_name(k): rng.normal(size=(n, 1)).astype("float32")
             for k in F.DENSE_FLOAT_FEATURES + F.DERIVED_DENSE}
    sizes = {**F.CATEGORICAL_INT_FEATURES, **{k: F.BUCKET_COUNT + 1 for k in F.BUCKET_FEATURES},
             **{k: F.VOCAB_SIZE + F.OOV_BUCKETS for k in F.VOCAB_FEATURES},
             **F.DERIVED_CATEGORICAL}
    for k, size in sizes.items():
        batch[F.transformed_name(k)] = rng.integers(0, size, size=(n, 1)).astype("int64")
    return batch


@pytest.fixture(scope="module")
def default_model():
    return build_keras_model(DEFAULT_HPARAMS)


def test_default_model_inputs(default_model):
    assert sorted(default_model.input_names) == INPUT_NAMES
    dtypes = {name: default_model.get_layer(name).dtype for name in INPUT_NAMES}
    for k in F.model_input_features() + list(F.DERIVED_CATEGORICAL) + F.DERIVED_DENSE:
        want = "float32" if k in F.DENSE_FLOAT_FEATURES + F.DERIVED_DENSE else "int64"
        assert dtypes[F.transformed_name(k)] == want, k


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
    assert out.units == 1 and out.name == "big_tipper_probability"
    assert not any(isinstance(l, tf_keras.layers.Dropout) for l in default_model.layers)
    assert default_model.optimizer.learning_rate.numpy() == pytest.approx(
        DEFAULT_HPARAMS["learning_rate"])


def test_output_is_probability(default_model):
    y = default_model(random_batch(8), training=False).numpy()
    assert y.shape == (8, 1)
    assert ((y >= 0) & (y <= 1)).all()


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
    model = build_keras_model(hp)
    assert isinstance(model, tf_keras.Model)
    assert sorted(model.input_names) == INPUT_NAMES
    hidden = dense_layers(model)[:-1]
    assert len(hidden) == num_layers
    assert [layer.units for layer in hidden] == layer_units(hidden_units, num_layers)
    dropouts = [l for l in model.layers if isinstance(l, tf_keras.layers.Dropout)]
    assert len(dropouts) == (num_layers if dropout else 0)
    assert all(l.rate == dropout for l in dropouts)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(3e-3)
    y = model(random_batch(4), training=False).numpy()
    assert y.shape == (4, 1) and ((y >= 0) & (y <= 1)).all()


# --- exported signatures -------------------------------------------------------------------

def tf_example(row):
    """A serialized tf.Example from a raw row; None (missing) features are left out."""
    feats = {}
    for name, value in row.items():
        if value is None or name == "label":
            continue
        if isinstance(value, str):
            feats[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
        elif isinstance(value, float):
            feats[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
        else:
            feats[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
    return tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString()


def full_row(row):
    """Raw row with the schema's required columns the test rows leave out."""
    return {"trip_start_timestamp": 1400000000, "trip_miles": row["fare"] / 2.5 + 0.1, **row}


@pytest.fixture(scope="module")
def exported(transform_run, raw_rows, tmp_path_factory):
    import tensorflow_transform as tft
    tf_keras.utils.set_random_seed(0)
    output = tft.TFTransformOutput(transform_run["transform_dir"])
    rows = transform_run["transformed"]
    x = {k: np.array([[r[k]] for r in rows]) for k in INPUT_NAMES}
    y = np.array([r[F.LABEL_KEY] for r in rows])
    model = build_keras_model(DEFAULT_HPARAMS)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    expected = model.predict(x, verbose=0)
    export_dir = str(tmp_path_factory.mktemp("model") / "serving")
    model.save(export_dir, save_format="tf", signatures=make_serving_signatures(model, output))
    return {"loaded": tf.saved_model.load(export_dir), "expected": expected}


def test_signature_names(exported):
    assert set(exported["loaded"].signatures) == {"serving_default", "transform_features"}


def test_serving_default_takes_examples_without_tips(exported, raw_rows):
    serve = exported["loaded"].signatures["serving_default"]
    rows = [{k: v for k, v in full_row(r).items() if k != F.TIPS_KEY} for r in raw_rows]
    assert all(F.TIPS_KEY not in r for r in rows)
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
    row = {k: v for k, v in full_row(raw_rows[3]).items() if k != F.TIPS_KEY}
    y = serve(examples=tf.constant([tf_example(row)]))["outputs"].numpy()
    assert y.shape == (1, 1)


def test_transform_features_signature(exported, raw_rows, transform_run):
    transform = exported["loaded"].signatures["transform_features"]
    out = transform(examples=tf.constant([tf_example(full_row(r)) for r in raw_rows]))
    assert set(out) == set(INPUT_NAMES) | {F.LABEL_KEY}
    assert out[F.LABEL_KEY].numpy().tolist() == [r["label"] for r in raw_rows]
    for k in INPUT_NAMES:
        got = out[k].numpy().reshape(-1)
        want = np.array([r[k] for r in transform_run["transformed"]])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=k)


def test_autograph_leaves_tf_keras_alone():
    from tensorflow.python.autograph.core import config as autograph_config
    from tensorflow.python.autograph.impl import conversion
    from modules.model import skip_autograph_for_tf_keras
    skip_autograph_for_tf_keras()
    skip_autograph_for_tf_keras()  # idempotent: one rule
    rules = [r for r in autograph_config.CONVERSION_RULES
             if isinstance(r, autograph_config.DoNotConvert) and r.matches("tf_keras")]
    assert len(rules) == 1
    assert not conversion.is_allowlisted(build_keras_model)  # our code is still converted
    assert conversion.is_allowlisted(tf_keras.Model.train_step)
