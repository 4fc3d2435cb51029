"""The tf-keras (Keras 2) model of a feature plan, built from hyperparameters."""
import re
from typing import Tuple

import keras_tuner
import tensorflow as tf

from modules import features as F
from modules import hooks as H
from tabflow.dataset import BINARY, MULTICLASS

DEFAULT_HPARAMS = {"hidden_units": 64, "num_layers": 2, "learning_rate": 1e-3, "dropout": 0.0}
# Narrowest hidden layer of the tapering stack.
MIN_UNITS = 8


def search_space() -> keras_tuner.HyperParameters:
    """The Tuner's space: small tapering stacks. It holds only the choices that held up where
    they were measured (benchmarks/plain_model.py, on a slice of the test split): wider first
    layers (128), single layers and a learning rate of 3e-4 at 1000 steps fit worse."""
    hp = keras_tuner.HyperParameters()
    hp.Choice("hidden_units", [32, 64], default=DEFAULT_HPARAMS["hidden_units"])
    hp.Int("num_layers", 2, 3, default=DEFAULT_HPARAMS["num_layers"])
    hp.Choice("learning_rate", [1e-3], default=DEFAULT_HPARAMS["learning_rate"])
    hp.Choice("dropout", [0.0, 0.1], default=DEFAULT_HPARAMS["dropout"])
    return hp


def layer_units(hidden_units: int, num_layers: int) -> list:
    """A tapering stack: each hidden layer half as wide as the one before (64, 32, 16)."""
    return [max(int(hidden_units) >> i, MIN_UNITS) for i in range(int(num_layers))]


def _layer_names(names) -> dict:
    """{input name: a Keras layer name for it}: a column's name may hold spaces or other
    characters TensorFlow's name scopes reject; the model's input dict keeps the real name."""
    out, taken = {}, set()
    for name in names:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        safe = safe if re.match(r"[A-Za-z0-9.]", safe) else "x" + safe
        unique, n = safe, 1
        while unique in taken:
            unique, n = f"{safe}_{n}", n + 1
        out[name] = unique
        taken.add(unique)
    return out


def _head(x, plan, label_scale):
    """The output layer, loss and metrics of the plan's problem type."""
    problem_type = plan["problem_type"]
    if problem_type == BINARY:
        output = tf.keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
        return output, tf.keras.losses.BinaryCrossentropy(), [
            tf.keras.metrics.AUC(name="auc"), tf.keras.metrics.BinaryAccuracy(name="accuracy")]
    if problem_type == MULTICLASS:
        output = tf.keras.layers.Dense(len(plan["classes"]), activation="softmax",
                                       name="class_probabilities")(x)
        return output, tf.keras.losses.SparseCategoricalCrossentropy(), [
            tf.keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    # The network learns the label standardized; the last layer maps it back to the label's
    # units, so the served prediction (and TFMA's RMSE) is in them.
    mean, std = label_scale
    standardized = tf.keras.layers.Dense(1, name="standardized_prediction")(x)
    output = tf.keras.layers.Rescaling(scale=float(std), offset=float(mean),
                                       name="prediction")(standardized)
    return output, tf.keras.losses.MeanSquaredError(), [
        tf.keras.metrics.RootMeanSquaredError(name="rmse")]


def build_keras_model(hparams, plan: dict,
                      label_scale: Tuple[float, float] = (0.0, 1.0)) -> tf.keras.Model:
    """The model of a feature plan. hparams: a keras_tuner.HyperParameters or a plain dict of
    values. label_scale: (mean, std) of a regression label (dataset.label_scale)."""
    get = hparams.get if hasattr(hparams, "get") else hparams.__getitem__
    dense, categorical = F.model_inputs(plan, H.derived_sizes(plan))
    layer_names = _layer_names(dense + list(categorical))
    inputs, encoded = {}, []
    for name in dense:
        inputs[name] = tf.keras.layers.Input(shape=(1,), name=layer_names[name],
                                             dtype=tf.float32)
        encoded.append(inputs[name])
    for name, size in categorical.items():
        inputs[name] = tf.keras.layers.Input(shape=(1,), name=layer_names[name], dtype=tf.int64)
        encoded.append(tf.keras.layers.CategoryEncoding(num_tokens=size, output_mode="one_hot")(
            inputs[name]))
    x = tf.keras.layers.concatenate(encoded) if len(encoded) > 1 else encoded[0]
    for units in layer_units(get("hidden_units"), get("num_layers")):
        x = tf.keras.layers.Dense(units, activation="relu")(x)
        if float(get("dropout")) > 0:
            x = tf.keras.layers.Dropout(float(get("dropout")))(x)
    output, loss, metrics = _head(x, plan, label_scale)
    model = tf.keras.Model(inputs=inputs, outputs=output)
    model.compile(optimizer=tf.keras.optimizers.Adam(float(get("learning_rate"))), loss=loss,
                  metrics=metrics)
    return model
