"""Reading examples for training and tuning: the raw splits through the transform graph.

Transform materialises nothing (pipeline/pipeline.py): each batch of raw examples goes through
the same transform layer the served model carries, so training sees exactly the features
serving computes."""
from typing import Tuple

import numpy as np
import tensorflow as tf
from tfx_bsl.public import tfxio

from tabflow.dataset import REGRESSION

# How many training batches the label's mean and spread are measured on: enough for a stable
# estimate, bounded so a large span costs no extra pass.
LABEL_SCALE_BATCHES = 100


def input_fn(file_pattern, data_accessor, tf_transform_output, batch_size,
             plan: dict) -> tf.data.Dataset:
    """(transformed features, label) batches of the raw examples in file_pattern, repeated."""
    raw = data_accessor.tf_dataset_factory(
        file_pattern, tfxio.TensorFlowDatasetOptions(batch_size=batch_size),
        tf_transform_output.raw_metadata.schema)
    # TFTransformOutput keeps one layer: the serving signatures reuse it.
    layer = tf_transform_output.transform_features_layer()
    label_key = plan["label_xf"]

    def transform(features):
        transformed = layer(features)
        label = transformed.pop(label_key)
        return transformed, label

    return raw.map(transform, num_parallel_calls=tf.data.AUTOTUNE).repeat()


def label_scale(dataset: tf.data.Dataset,
                batches: int = LABEL_SCALE_BATCHES) -> Tuple[float, float]:
    """(mean, std) of a regression label over the first `batches` batches of (features, label)
    pairs; a constant label has std 1, so scaling by it is a no-op."""
    labels = np.concatenate([np.reshape(label, [-1]) for _, label in
                             dataset.take(batches).as_numpy_iterator()]).astype(np.float64)
    std = float(labels.std())
    return float(labels.mean()), std if std > 0 else 1.0


def fit_inputs(fn_args, tf_transform_output, batch_size: int, plan: dict):
    """(train, eval, label scale) for the Tuner and the Trainer: the two splits' datasets and
    the (mean, std) the model's regression output is scaled by ((0, 1) for classification)."""
    train = input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output,
                     batch_size, plan)
    evaluation = input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
                          batch_size, plan)
    scale = label_scale(train) if plan["problem_type"] == REGRESSION else (0.0, 1.0)
    return train, evaluation, scale
