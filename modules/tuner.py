"""tuner_fn for the TFX Tuner: a random search over the model's hyperparameters."""
import keras_tuner
import tensorflow_transform as tft
from tfx import v1 as tfx

from modules import dataset
from modules.model import build_keras_model, search_space, skip_autograph_for_tf_keras


def tuner_fn(fn_args: tfx.components.FnArgs) -> tfx.components.TunerFnResult:
    skip_autograph_for_tf_keras()
    config = fn_args.custom_config or {}
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    tuner = keras_tuner.RandomSearch(
        build_keras_model,
        hyperparameters=search_space(),
        max_trials=int(config.get("max_trials", 2)),
        objective=keras_tuner.Objective("val_auc", direction="max"),
        directory=fn_args.working_dir,
        project_name="taxi_tuning",
        seed=int(config.get("seed", 42)),
        overwrite=True,
    )
    batch_size = int(config.get("batch_size", 40))
    train = dataset.input_fn(fn_args.train_files, fn_args.data_accessor, tf_transform_output,
                             batch_size)
    evaluation = dataset.input_fn(fn_args.eval_files, fn_args.data_accessor, tf_transform_output,
                                  batch_size)
    return tfx.components.TunerFnResult(
        tuner=tuner,
        fit_kwargs={
            "x": train,
            "validation_data": evaluation,
            "steps_per_epoch": fn_args.train_steps,
            "validation_steps": fn_args.eval_steps,
            "epochs": 1,
            "verbose": 0,
        },
    )
