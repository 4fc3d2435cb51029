"""TFX's Tuner with more parameters and optional inputs, and an executor that can search as
TFX's does or not at all.

Relies on TFX 1.16.0's Tuner (tfx/components/tuner): its spec class TunerSpec, whose
PARAMETERS and INPUTS dicts a subclass extends; its constructor, which only builds that spec
(custom_config as JSON through tfx.utils.json_utils, a TrainArgs and EvalArgs, the
best_hyperparameters and tuner_results channels) and calls BaseComponent.__init__, so
building the extended spec and calling BaseComponent.__init__ directly skips nothing for a
dotted-path tuner_fn; its executor's Do; and BaseExecutor's private `_context`, which carries
the pipeline run id under the IR-based runners (None under Airflow's legacy launcher).
"""
from typing import Dict, Optional

from tfx import types
from tfx.components.tuner import executor as tuner_executor
from tfx.components.tuner.component import Tuner
from tfx.dsl.components.base import base_component
from tfx.proto import trainer_pb2
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter
from tfx.types.standard_component_specs import TunerSpec
from tfx.utils import json_utils


def extended_tuner_spec(parameters: Dict[str, type], optional_inputs: Dict[str, type]) -> type:
    """TunerSpec with more exec properties ({name: type}) and optional input channels
    ({key: artifact type})."""
    return type("ExtendedTunerSpec", (TunerSpec,), {
        "PARAMETERS": {**TunerSpec.PARAMETERS,
                       **{name: ExecutionParameter(type=t) for name, t in parameters.items()}},
        "INPUTS": {**TunerSpec.INPUTS,
                   **{key: ChannelParameter(type=t, optional=True)
                      for key, t in optional_inputs.items()}},
    })


class ExtendedTuner(Tuner):
    """TFX's Tuner (dotted-path tuner_fn only) on a subclass's SPEC_CLASS, an
    extended_tuner_spec; `extra` holds its added parameters and inputs."""

    def __init__(self, *, examples, schema, transform_graph, tuner_fn: str,
                 train_args: trainer_pb2.TrainArgs, eval_args: trainer_pb2.EvalArgs,
                 custom_config: dict, **extra):
        spec = self.SPEC_CLASS(
            examples=examples, schema=schema, transform_graph=transform_graph,
            tuner_fn=tuner_fn, train_args=train_args, eval_args=eval_args,
            custom_config=json_utils.dumps(custom_config),
            best_hyperparameters=types.Channel(type=standard_artifacts.HyperParameters),
            tuner_results=types.Channel(type=standard_artifacts.TunerResults),
            **extra)
        base_component.BaseComponent.__init__(self, spec=spec)


class TunerExecutor(tuner_executor.Executor):
    """TFX's Tuner executor; a subclass's Do calls `search` for TFX's search."""

    def search(self, input_dict, output_dict, exec_properties) -> None:
        """TFX's Tuner: the search, writing best_hyperparameters and tuner_results."""
        tuner_executor.Executor.Do(self, input_dict, output_dict, exec_properties)

    def pipeline_run_id(self) -> Optional[str]:
        """The run id of the IR-based runners; None under Airflow's legacy launcher."""
        return getattr(self._context, "pipeline_run_id", None)
