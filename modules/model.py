"""The tf-keras (Keras 2) model, built from hyperparameters."""
import keras_tuner
import tensorflow as tf

from modules import features as F

DEFAULT_HPARAMS = {"hidden_units": 64, "num_layers": 2, "learning_rate": 1e-3, "dropout": 0.0}


def search_space() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    hp.Choice("hidden_units", [32, 64, 128], default=DEFAULT_HPARAMS["hidden_units"])
    hp.Int("num_layers", 1, 3, default=DEFAULT_HPARAMS["num_layers"])
    hp.Choice("learning_rate", [3e-4, 1e-3, 3e-3], default=DEFAULT_HPARAMS["learning_rate"])
    hp.Choice("dropout", [0.0, 0.1, 0.2], default=DEFAULT_HPARAMS["dropout"])
    return hp


def _category_sizes():
    sizes = dict(F.CATEGORICAL_INT_FEATURES)
    sizes.update({k: F.BUCKET_COUNT + 1 for k in F.BUCKET_FEATURES})
    sizes.update({k: F.VOCAB_SIZE + F.OOV_BUCKETS for k in F.VOCAB_FEATURES})
    return sizes


def build_keras_model(hparams) -> tf.keras.Model:
    """hparams: a keras_tuner.HyperParameters or a plain dict of values."""
    get = hparams.get if hasattr(hparams, "get") else hparams.__getitem__
    inputs, encoded = {}, []
    for key in F.DENSE_FLOAT_FEATURES:
        name = F.transformed_name(key)
        inputs[name] = tf.keras.layers.Input(shape=(1,), name=name, dtype=tf.float32)
        encoded.append(inputs[name])
    for key, size in _category_sizes().items():
        name = F.transformed_name(key)
        inputs[name] = tf.keras.layers.Input(shape=(1,), name=name, dtype=tf.int64)
        encoded.append(tf.keras.layers.CategoryEncoding(num_tokens=size, output_mode="one_hot")(
            inputs[name]))
    x = tf.keras.layers.concatenate(encoded)
    for _ in range(int(get("num_layers"))):
        x = tf.keras.layers.Dense(int(get("hidden_units")), activation="relu")(x)
        if float(get("dropout")) > 0:
            x = tf.keras.layers.Dropout(float(get("dropout")))(x)
    output = tf.keras.layers.Dense(1, activation="sigmoid", name="big_tipper_probability")(x)
    model = tf.keras.Model(inputs=inputs, outputs=output)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(float(get("learning_rate"))),
        loss=tf.keras.losses.BinaryCrossentropy(),
        metrics=[tf.keras.metrics.AUC(name="auc"), tf.keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    return model
