"""run_fn for the TFX Trainer: trains with the tuned hyperparameters and exports signatures.

The exported SavedModel has two signatures:
- serving_default: serialized raw tf.Examples (no label columns) -> big tipper probability,
  applying the transform graph inside the model;
- transform_features: serialized raw tf.Examples -> transformed features, used by TFMA.
"""
import keras_tuner
import tensorflow as tf
import tensorflow_transform as tft
from tfx import v1 as tfx

from modules import dataset
from modules import features as F
from modules.model import DEFAULT_HPARAMS, build_keras_model, skip_autograph_for_tf_keras


def _serving_feature_spec(tf_transform_output):
    spec = tf_transform_output.raw_feature_spec()
    for key in F.RAW_LABEL_SOURCES:
        spec.pop(key, None)
    return spec


def make_serving_signatures(model, tf_transform_output):
    model.tft_layer = tf_transform_output.transform_features_layer()
    input_names = list(model.input_names)

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve_tf_examples_fn(serialized_tf_examples):
        raw = tf.io.parse_example(serialized_tf_examples, _serving_feature_spec(tf_transform_output))
        transformed = model.tft_layer(raw)
        return {"outputs": model({k: transformed[k] for k in input_names})}

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def transform_features_fn(serialized_tf_examples):
        raw = tf.io.parse_example(serialized_tf_examples, tf_transform_output.raw_feature_spec())
        return model.tft_layer(raw)

    return {
        "serving_default": serve_tf_examples_fn.get_concrete_function(),
        "transform_features": transform_features_fn.get_concrete_function(),
    }


def hparams_from(fn_args) -> keras_tuner.HyperParameters:
    if fn_args.hyperparameters:
        return keras_tuner.HyperParameters.from_config(fn_args.hyperparameters)
    hp = keras_tuner.HyperParameters()
    for name, value in DEFAULT_HPARAMS.items():
        hp.Fixed(name, value)
    return hp


def run_fn(fn_args: tfx.components.FnArgs) -> None:
    skip_autograph_for_tf_keras()
    config = fn_args.custom_config or {}
    batch_size = int(config.get("batch_size", 40))
    tf.keras.utils.set_random_seed(int(config.get("seed", 42)))
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train = dataset.input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output,
                             batch_size)
    evaluation = dataset.input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
                                  batch_size)
    model = build_keras_model(hparams_from(fn_args))
    model.fit(
        train,
        steps_per_epoch=fn_args.train_steps,
        validation_data=evaluation,
        validation_steps=fn_args.eval_steps,
        epochs=1,
        verbose=0,
        callbacks=[tf.keras.callbacks.TensorBoard(log_dir=fn_args.model_run_dir)],
    )
    model.save(fn_args.serving_model_dir, save_format="tf",
               signatures=make_serving_signatures(model, tf_transform_output))
