"""Reading transformed examples for training and tuning."""
import tensorflow as tf
from tfx_bsl.public import tfxio

from modules import features as F


def input_fn(file_pattern, data_accessor, tf_transform_output, batch_size) -> tf.data.Dataset:
    return data_accessor.tf_dataset_factory(
        file_pattern,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=F.LABEL_KEY),
        tf_transform_output.transformed_metadata.schema,
    ).repeat()
