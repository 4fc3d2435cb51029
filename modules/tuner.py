"""tuner_fn for the TFX Tuner: a random search over the model's hyperparameters."""
import functools

import keras_tuner
import tensorflow_transform as tft
from tfx.components.trainer.fn_args_utils import FnArgs
from tfx.components.tuner.component import TunerFnResult

from modules import dataset
from modules.model import build_keras_model, search_space
from tabflow.compat.autograph import skip_autograph_for_tf_keras
from tabflow.dataset import BINARY, MULTICLASS, REGRESSION

# What ranks trials, per problem type: the validation metric nearest the headline the
# Evaluator gates on (AUC, accuracy; for regression the MSE loss, which orders as RMSE does).
OBJECTIVES = {
    BINARY: keras_tuner.Objective("val_auc", direction="max"),
    MULTICLASS: keras_tuner.Objective("val_accuracy", direction="max"),
    REGRESSION: keras_tuner.Objective("val_loss", direction="min"),
}


def tuner_fn(fn_args: FnArgs) -> TunerFnResult:
    skip_autograph_for_tf_keras()
    config = fn_args.custom_config or {}
    plan = config["plan"]
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_graph_path)
    batch_size = int(config.get("batch_size", 40))
    train, evaluation, label_scale = dataset.fit_inputs(fn_args, tf_transform_output,
                                                        batch_size, plan)
    tuner = keras_tuner.RandomSearch(
        functools.partial(build_keras_model, plan=plan, label_scale=label_scale),
        hyperparameters=search_space(),
        max_trials=int(config.get("max_trials", 2)),
        objective=OBJECTIVES[plan["problem_type"]],
        directory=fn_args.working_dir,
        project_name="tuning",
        seed=int(config.get("seed", 42)),
        overwrite=True,
    )
    return TunerFnResult(
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
