"""TFT preprocessing: the same graph runs in Transform, in training and inside the served model.

What each column gets comes from the feature plan in custom_config["plan"]
(pipeline/feature_plan.py); the dataset's hooks module, if it has one, adds its label and its
derived inputs (modules/hooks.py).
"""
import tensorflow as tf
import tensorflow_transform as tft

from modules import features as F
from modules import hooks as H
from tabflow.dataset import REGRESSION

# A label value that is missing or not one of the classes: no class id equals it, so training
# on it fails rather than learning it as a real class (the data gate stops such spans first).
UNKNOWN_CLASS = -1


def _dense(x, default):
    """A [batch] dense tensor from a dense or sparse (possibly missing) single-valued feature."""
    if isinstance(x, tf.sparse.SparseTensor):
        x = tf.sparse.to_dense(
            tf.SparseTensor(x.indices, x.values, [x.dense_shape[0], 1]), default)
    return tf.reshape(x, [-1])


def _present(x):
    if isinstance(x, tf.sparse.SparseTensor):
        dense = tf.sparse.to_dense(
            tf.SparseTensor(x.indices, tf.ones_like(x.values, tf.bool), [x.dense_shape[0], 1]),
            False)
        return tf.reshape(dense, [-1])
    return tf.ones_like(tf.reshape(x, [-1]), tf.bool)


def _as_float(x):
    if isinstance(x, tf.sparse.SparseTensor):
        return tf.sparse.SparseTensor(x.indices, tf.cast(x.values, tf.float32), x.dense_shape)
    return tf.cast(x, tf.float32)


def _zero(x):
    return tf.constant("" if x.dtype == tf.string else 0, x.dtype)


def _class_id(values, classes):
    """The position of each value in `classes` (int64), UNKNOWN_CLASS where it has none.
    Numbers are compared as their text, the way dataset.yaml lists classes."""
    if values.dtype != tf.string:
        values = tf.strings.as_string(values, shortest=values.dtype.is_floating)
    matches = tf.equal(tf.expand_dims(values, 1), tf.constant(classes, tf.string)[tf.newaxis])
    return tf.where(tf.reduce_any(matches, axis=1),
                    tf.argmax(tf.cast(matches, tf.int64), axis=1, output_type=tf.int64),
                    tf.constant(UNKNOWN_CLASS, tf.int64))


def _label(inputs, plan, hooks, raw):
    """The label as the model learns it: binary 0/1 and multiclass class ids as int64,
    regression float32."""
    key, problem_type, classes = plan["label"], plan["problem_type"], list(plan["classes"])
    if hooks is not None and hasattr(hooks, "label"):
        values = tf.reshape(hooks.label(raw), [-1])
    elif key not in inputs:
        raise ValueError(f"the data has no label column {key!r}, and hooks "
                         f"{plan['hooks']} define no label(inputs)")
    else:
        values = inputs[key]
        if problem_type == REGRESSION:
            # A missing label stays NaN rather than becoming a value to learn.
            values, missing = _as_float(values), float("nan")
        else:
            missing = "" if values.dtype == tf.string else UNKNOWN_CLASS
        values = _dense(values, tf.constant(missing, values.dtype))
    if problem_type == REGRESSION:
        return tf.cast(values, tf.float32)
    if not classes and values.dtype != tf.string:
        return tf.cast(values, tf.int64)
    return _class_id(values, classes or ["0", "1"])


def preprocessing_fn(inputs, custom_config):
    plan = custom_config["plan"]
    hooks = H.of(plan)
    outputs = {}
    for key in plan["dense"]:
        x = _as_float(inputs[key])
        # Missing values take the column mean, which z-scores to 0.
        outputs[F.transformed_name(key)] = tft.scale_to_z_score(_dense(x, tft.mean(x)))

    for key, count in plan["bucketize"].items():
        x = inputs[key]
        present = _present(x)
        values = tf.cast(_dense(x, _zero(x)), tf.float32)
        # Weight 0 keeps the placeholder of missing rows out of the quantile boundaries.
        buckets = tft.bucketize(values, count, elementwise=False,
                                weights=tf.cast(present, tf.float32))
        # Missing values get their own bucket instead of joining a real one.
        outputs[F.transformed_name(key)] = tf.where(present, buckets,
                                                    tf.cast(count, buckets.dtype))

    for key, size in plan["categorical_int"].items():
        x = tf.cast(_dense(inputs[key], _zero(inputs[key])), tf.int64)
        outputs[F.transformed_name(key)] = tf.clip_by_value(x, 0, size - 1)

    for key in plan["vocabulary"]:
        outputs[F.transformed_name(key)] = tft.compute_and_apply_vocabulary(
            _dense(inputs[key], ""), top_k=F.VOCAB_SIZE, num_oov_buckets=F.OOV_BUCKETS,
            vocab_filename=key)

    raw = {k: _dense(v, _zero(v)) for k, v in inputs.items()} if hooks is not None else None
    if hooks is not None and hasattr(hooks, "derived_features"):
        outputs.update(hooks.derived_features(raw))
    outputs[plan["label_xf"]] = _label(inputs, plan, hooks, raw)
    return outputs
