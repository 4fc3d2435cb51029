"""The tuning policy: tune rarely, train often.

A search costs as much as several trainings and its answer changes only when what it searched
changes. The Tuner therefore searches again only when the model or tuner code, the curated
schema or the tuning settings changed (together, the tuning key), or when the span is
`retune_every_spans` or more past the span the last search ran on. Otherwise it publishes the
last search's hyperparameters again, and lineage says where they came from:

- `ReusableTuningStrategy` (a Resolver strategy) finds, through MLMD, the newest
  HyperParameters that a real search produced under the same tuning key, before this run's
  Examples and few enough spans ago. Only artifacts older than the run's Examples qualify, so
  an unchanged rerun resolves what its first run resolved and stays cached.
- `PolicyTuner` is TFX's Tuner with two more inputs: that resolved artifact (when there is one
  it copies its hyperparameters instead of searching, and the INPUT event links the execution
  to the search's output) and the run's Examples (read for their span only).
Every published HyperParameters artifact says which search chose its values (custom
properties below); `lineage trace` prints it.
"""
import hashlib
import json
import os
from typing import Dict, List, Optional

from tfx import types
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common import resolver
from tfx.dsl.io import fileio
from tfx.proto import trainer_pb2
from tfx.types import standard_artifacts

from tabflow.compat.tuner import ExtendedTuner, TunerExecutor, extended_tuner_spec
from tabflow.metadata.drift import span_of
from tabflow import contract as C

# Input keys of PolicyTuner beyond TFX's Tuner's, and its extra parameter.
PREVIOUS_KEY = C.TUNER_INPUT_PREVIOUS
TUNING_KEY_PARAMETER = "tuning_key"


def tuning_key(tuner_code_sha256: str, schema_sha256: str, training,
               plan: Optional[dict] = None) -> str:
    """What a search depends on: the code it runs (modules/tuner.py and the model it builds,
    pipeline/fingerprints.py), the curated schema, the feature plan (the model's inputs and
    output, from the dataset's spec) and the tuning settings of the config's training section.
    The trainer's own budget (train_steps) is not part of it."""
    settings = {"tuner_trials": training.tuner_trials,
                "tuner_train_steps": training.tuner_train_steps,
                "tuner_eval_steps": training.tuner_eval_steps,
                "batch_size": training.batch_size}
    key = {"code": tuner_code_sha256, "schema": schema_sha256, "settings": settings}
    if plan is not None:
        key["plan"] = plan
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _span(artifact: types.Artifact) -> Optional[int]:
    return span_of(artifact.mlmd_artifact)


def searched(artifact: types.Artifact) -> bool:
    """Whether a HyperParameters artifact came out of a search (not a reuse) under the policy."""
    return (artifact.has_custom_property(C.TUNED_ON_SPAN_PROPERTY)
            and artifact.has_custom_property(C.TUNING_KEY_PROPERTY)
            and artifact.get_int_custom_property(C.TUNING_REUSED_FROM_PROPERTY) == 0)


def reusable_search(examples: List[types.Artifact], hyperparameters: List[types.Artifact],
                    key: str, retune_every_spans: int) -> Optional[types.Artifact]:
    """The newest searched HyperParameters under `key`, older than the current Examples (the
    newest of `examples`), tuned on a span at most the current one and fewer than
    `retune_every_spans` spans before it (0: any number); None means search again."""
    if not examples:
        return None
    current = max(examples, key=lambda a: a.id)
    span = _span(current)
    if span is None:
        return None
    fits = [h for h in hyperparameters
            if searched(h) and h.id < current.id
            and h.get_string_custom_property(C.TUNING_KEY_PROPERTY) == key
            and h.get_int_custom_property(C.TUNED_ON_SPAN_PROPERTY) <= span
            and (retune_every_spans == 0
                 or span - h.get_int_custom_property(C.TUNED_ON_SPAN_PROPERTY)
                 < retune_every_spans)]
    return max(fits, key=lambda a: a.id, default=None)


class ReusableTuningStrategy(resolver.ResolverStrategy):
    """Resolver strategy: every HyperParameters and the current Examples in; out, the search to
    reuse (or nothing) and the Examples unchanged. config: tuning_key, retune_every_spans.

    Under LocalDagRunner and BeamDagRunner the Examples channel holds this run's artifact;
    Airflow's legacy launcher passes every Examples of the pipeline, and the newest is taken
    as the current one (as pipeline/drift_gate.py does)."""

    def __init__(self, tuning_key: str, retune_every_spans: int):
        self._key = tuning_key
        self._every = int(retune_every_spans)

    def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]
                          ) -> Optional[Dict[str, List[types.Artifact]]]:
        del store  # every artifact the choice needs arrives in input_dict
        examples = list(input_dict.get(C.EXAMPLES_KEY, []))
        found = reusable_search(examples, input_dict.get(C.BEST_HYPERPARAMETERS_KEY, []),
                                self._key, self._every)
        # Every input key is returned: the legacy resolver driver publishes one output per key.
        return {C.BEST_HYPERPARAMETERS_KEY: [found] if found else [], C.EXAMPLES_KEY: examples}


class PolicyTunerExecutor(TunerExecutor):
    """Searches as TFX's Tuner does, or copies the resolved search's hyperparameters."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        input_dict = dict(input_dict)
        previous = input_dict.pop(PREVIOUS_KEY, None) or []
        # The raw examples the search reads carry the span it is tuned on.
        spans = [_span(a) for a in input_dict.get(C.EXAMPLES_KEY, [])]
        exec_properties = dict(exec_properties)
        key = exec_properties.pop(TUNING_KEY_PARAMETER)
        [best] = output_dict[C.BEST_HYPERPARAMETERS_KEY]
        [results] = output_dict[C.TUNER_RESULTS_KEY]
        if previous:
            [source] = previous
            fileio.makedirs(best.uri)
            fileio.copy(os.path.join(source.uri, C.HYPERPARAMETERS_FILE),
                        os.path.join(best.uri, C.HYPERPARAMETERS_FILE), overwrite=True)
            # No trials ran in this execution; the search's own results stay with its output.
            fileio.makedirs(results.uri)
            with fileio.open(os.path.join(results.uri, C.TUNER_RESULTS_FILE), "w") as f:
                f.write("[]")
            best.set_int_custom_property(C.TUNING_REUSED_FROM_PROPERTY, source.id)
            best.set_int_custom_property(C.TUNED_ON_SPAN_PROPERTY,
                                         source.get_int_custom_property(C.TUNED_ON_SPAN_PROPERTY))
            best.set_string_custom_property(
                C.TUNED_IN_RUN_PROPERTY, source.get_string_custom_property(C.TUNED_IN_RUN_PROPERTY))
        else:
            self.search(input_dict, output_dict, exec_properties)
            best.set_int_custom_property(C.TUNING_REUSED_FROM_PROPERTY, 0)
            best.set_int_custom_property(C.TUNED_ON_SPAN_PROPERTY,
                                         max([s for s in spans if s is not None], default=0))
            best.set_string_custom_property(C.TUNED_IN_RUN_PROPERTY, self.pipeline_run_id() or "")
        best.set_string_custom_property(C.TUNING_KEY_PROPERTY, key)


PolicyTunerSpec = extended_tuner_spec(
    parameters={TUNING_KEY_PARAMETER: str},
    optional_inputs={PREVIOUS_KEY: standard_artifacts.HyperParameters})


class PolicyTuner(ExtendedTuner):
    """TFX's Tuner (dotted-path tuner_fn only) under the tuning policy; see the module doc."""
    SPEC_CLASS = PolicyTunerSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(PolicyTunerExecutor)

    def __init__(self, *, examples, schema, transform_graph, tuner_fn: str,
                 train_args: trainer_pb2.TrainArgs, eval_args: trainer_pb2.EvalArgs,
                 custom_config: dict, tuning_key: str,
                 previous_hyperparameters=None):
        super().__init__(
            examples=examples, schema=schema, transform_graph=transform_graph,
            tuner_fn=tuner_fn, train_args=train_args, eval_args=eval_args,
            custom_config=custom_config, tuning_key=tuning_key,
            previous_hyperparameters=previous_hyperparameters)
