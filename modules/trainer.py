"""run_fn for the TFX Trainer: trains with the tuned hyperparameters and exports signatures.

The exported SavedModel has two signatures:
- serving_default: serialized raw tf.Examples (without the label and its sources) -> the
  model's output (binary: probability of the positive class; multiclass: one probability per
  class; regression: the prediction in the label's units), applying the transform graph
  inside the model;
- transform_features: serialized raw tf.Examples -> transformed features, used by TFMA.
"""
import keras_tuner
import tensorflow as tf
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import FnArgs

from modules import dataset
from modules.model import DEFAULT_HPARAMS, build_keras_model
from tabflow.compat.autograph import skip_autograph_for_tf_keras


def _serving_feature_spec(tf_transform_output, plan):
    # A hook may derive the label, so the raw spec need not hold a column of that name.
    spec = tf_transform_output.raw_feature_spec()
    for key in [plan["label"], *plan["label_sources"]]:
        spec.pop(key, None)
    return spec


def make_serving_signatures(model, tf_transform_output, plan):
    model.tft_layer = tf_transform_output.transform_features_layer()
    # The input dict's keys: the transformed names (Keras layer names may be sanitized).
    input_names = list(model.input)

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.string, name="examples")])
    def serve_tf_examples_fn(serialized_tf_examples):
        raw = tf.io.parse_example(serialized_tf_examples,
                                  _serving_feature_spec(tf_transform_output, plan))
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


def run_fn(fn_args: FnArgs) -> None:
    skip_autograph_for_tf_keras()
    config = fn_args.custom_config or {}
    plan = config["plan"]
    batch_size = int(config.get("batch_size", 40))
    tf.keras.utils.set_random_seed(int(config.get("seed", 42)))
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    train, evaluation, label_scale = dataset.fit_inputs(fn_args, tf_transform_output,
                                                        batch_size, plan)
    model = build_keras_model(hparams_from(fn_args), plan, label_scale)
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
               signatures=make_serving_signatures(model, tf_transform_output, plan))
