"""TFT preprocessing: the same graph runs in Transform, in training and inside the served model."""
import tensorflow as tf
import tensorflow_transform as tft

from modules import features as F


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


def _fare_derived(fare):
    """The fare's $5 tip step, how far into it the fare is, and its quantile bucket."""
    steps = fare / F.FARE_TIP_STEP
    step = tf.floor(steps)
    return {
        F.transformed_name("fare_tip_step"): tf.clip_by_value(
            tf.cast(step, tf.int64), 0, F.FARE_TIP_STEPS - 1),
        F.transformed_name("fare_tip_slack"): steps - step,
        F.transformed_name("fare_bucket"): tft.bucketize(
            fare, F.FARE_QUANTILE_BUCKETS, elementwise=False),
    }


def preprocessing_fn(inputs):
    outputs = {}
    for key in F.DENSE_FLOAT_FEATURES:
        x = tf.cast(inputs[key], tf.float32) if not isinstance(inputs[key], tf.sparse.SparseTensor) \
            else tf.sparse.SparseTensor(inputs[key].indices, tf.cast(inputs[key].values, tf.float32),
                                        inputs[key].dense_shape)
        # Missing values take the column mean, which z-scores to 0.
        mean = tft.mean(x)
        filled = _dense(x, mean)
        outputs[F.transformed_name(key)] = tft.scale_to_z_score(filled)
        if key == F.FARE_KEY:
            outputs.update(_fare_derived(filled))

    for key in F.BUCKET_FEATURES:
        x = inputs[key]
        present = _present(x)
        values = tf.cast(_dense(x, tf.cast(0, x.dtype)), tf.float32)
        # Weight 0 keeps the placeholder of missing rows out of the quantile boundaries.
        buckets = tft.bucketize(values, F.BUCKET_COUNT, elementwise=False,
                                weights=tf.cast(present, tf.float32))
        # Missing coordinates get their own bucket instead of joining a real one.
        outputs[F.transformed_name(key)] = tf.where(
            present, buckets, tf.cast(F.BUCKET_COUNT, buckets.dtype))

    for key, size in F.CATEGORICAL_INT_FEATURES.items():
        x = tf.cast(_dense(inputs[key], tf.cast(0, inputs[key].dtype)), tf.int64)
        outputs[F.transformed_name(key)] = tf.clip_by_value(x, 0, size - 1)

    for key in F.VOCAB_FEATURES:
        x = _dense(inputs[key], "")
        outputs[F.transformed_name(key)] = tft.compute_and_apply_vocabulary(
            x, top_k=F.VOCAB_SIZE, num_oov_buckets=F.OOV_BUCKETS, vocab_filename=key)

    fare = tf.cast(_dense(inputs[F.FARE_KEY], tf.cast(0, inputs[F.FARE_KEY].dtype)), tf.float32)
    tips = tf.cast(_dense(inputs[F.TIPS_KEY], tf.cast(0, inputs[F.TIPS_KEY].dtype)), tf.float32)
    outputs[F.LABEL_KEY] = tf.cast(F.big_tipper(fare, tips), tf.int64)
    return outputs
