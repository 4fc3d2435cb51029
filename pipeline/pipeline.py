"""The one pipeline definition every runner compiles. It reads no file: the runner gathers what
it needs (pipeline/inputs.py) and passes it in."""
import json
from typing import Optional

from ml_metadata.proto import metadata_store_pb2
# TFX's classes from their own modules, not through `tfx.v1`: importing `tfx.v1` also imports
# its Google Cloud extensions (AI Platform, BigQuery), about a third of every process's TFX
# import time, for nothing this pipeline runs.
from tfx.components.evaluator.component import Evaluator
from tfx.components.example_gen.csv_example_gen.component import CsvExampleGen
from tfx.components.example_validator.component import ExampleValidator
from tfx.components.pusher.component import Pusher
from tfx.components.schema_gen.component import SchemaGen
from tfx.components.statistics_gen.component import StatisticsGen
from tfx.components.trainer.component import Trainer
from tfx.components.transform.component import Transform
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.experimental.conditionals.conditional import Cond
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy)
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, range_config_pb2, trainer_pb2, transform_pb2
from tfx.types import standard_artifacts
from tfx.types.channel import Channel

from pipeline import csv_examples, provenance
from pipeline.baseline import CANDIDATE_KEY, BlessedBeforeCandidateStrategy
from pipeline.beam_presets import beam_pipeline_args
from pipeline.components import SPAN_PATTERN, AnomalyGate, CsvCheck, CuratedSchemaGen
from pipeline.drift_gate import DriftGate, LastPassedSpanStrategy
from pipeline.eval_config import create_eval_config
from pipeline.inputs import RunInputs
from pipeline.push import OncePerModelExecutor
from pipeline.tuning import PolicyTuner, ReusableTuningStrategy, tuning_key
from tabflow import contract as C
from tabflow.compat.example_gen import set_code_fingerprint, use_executor
from tabflow.config import DataConfig, PipelineConfig

# Dotted paths into the installed `modules` package: no module wheel to build or ship, and the
# same import works in-process, on Beam workers and in a KFP container image. They are generic:
# what they do for a dataset comes from the feature plan in their custom_config, and a
# dataset's own code (its hooks module) is loaded by path from there. Code changes still
# invalidate the cache: each node's exec properties carry the sha256 of the project files it
# runs, of the dataset's hooks and of the lock file (pipeline/fingerprints.py, inputs.py).
PREPROCESSING_FN = "modules.transform.preprocessing_fn"
TUNER_FN = "modules.tuner.tuner_fn"
RUN_FN = "modules.trainer.run_fn"

# KubeflowV2's compiler (tfx/orchestration/kubeflow/v2/step_builder.py) compiles only the
# LatestArtifact and LatestBlessedModel resolver strategies: on these targets the drift gate
# has no baseline and passes every span, saying so.
NO_CUSTOM_RESOLVERS = ("kfp", "vertex")
# Beam presets whose DirectRunner works on this machine, where a batched reader beats it.
IN_PROCESS_PRESETS = ("direct", "direct-multiprocess")


def _example_gen_input(data: DataConfig) -> dict:
    """ExampleGen ingests the latest span unless data.span names one."""
    args = dict(input_config=example_gen_pb2.Input(splits=[
        example_gen_pb2.Input.Split(name="single_split", pattern=SPAN_PATTERN)]))
    if data.span:
        args["range_config"] = range_config_pb2.RangeConfig(
            static_range=range_config_pb2.StaticRange(start_span_number=data.span,
                                                      end_span_number=data.span))
    return args


# How the Evaluator's baseline is found (see pipeline/baseline.py):
BLESSED_BEFORE_CANDIDATE = "blessed_before_candidate"  # Local, Beam, Airflow
LATEST_BLESSED = "latest_blessed"  # Vertex: its compiler knows only TFX's stock strategies
NO_BASELINE = "none"  # open-source KFP: its backend cannot run Resolver nodes
BASELINES = (BLESSED_BEFORE_CANDIDATE, LATEST_BLESSED, NO_BASELINE)


def create_components(config: PipelineConfig, inputs: RunInputs,
                      baseline: str = BLESSED_BEFORE_CANDIDATE, runner: str = "local") -> list:
    """The pipeline's components in topological order.

    `baseline` chooses the model the Evaluator compares the candidate with: the newest blessed
    model trained before the candidate (so an unchanged rerun is fully cached and pushes
    nothing); TFX's newest blessed model (Vertex); or none, for orchestrators that cannot run
    Resolver nodes (open-source KFP), where the Evaluator blesses on absolute thresholds only.
    `runner` is recorded in the run's provenance. The Kubeflow targets ("kfp",
    "vertex") leave out the drift baseline and tuning reuse resolvers (NO_CUSTOM_RESOLVERS):
    there every run's Tuner searches.
    """
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
    training, spec, plan, code = config.training, inputs.spec, inputs.plan, inputs.code
    run_provenance = provenance.RunProvenance(**inputs.provenance).with_id(C.PROVENANCE)
    curated_schema = CuratedSchemaGen(
        schema_file=config.data.schema_path, schema_sha256=inputs.schema_sha256,
        code_sha256=code[C.CURATED_SCHEMA]).with_id(C.CURATED_SCHEMA)
    csv_check = CsvCheck(
        schema=curated_schema.outputs[C.SCHEMA_KEY],
        data_root=config.data.data_root,
        span=config.data.span,
        files_fingerprint=inputs.files_fingerprint,
        code_sha256=code[C.CSV_CHECK],
    ).with_id(C.CSV_CHECK)
    example_gen = CsvExampleGen(
        input_base=config.data.data_root,
        **_example_gen_input(config.data),
        # Hash buckets on the example's content, in the spec's ratios (default 3:1:1): the same
        # rows always land in the same split; train fits, eval validates the Tuner and Trainer,
        # test blesses only.
        output_config=example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(splits=[
            example_gen_pb2.SplitConfig.Split(name=split, hash_buckets=spec.splits[split])
            for split in C.SPLITS])),
    ).with_id(C.EXAMPLE_GEN)
    if config.beam.beam_preset in IN_PROCESS_PRESETS:
        # Where Beam would run in this process anyway, the batched reader is faster
        # (pipeline/csv_examples.py); where Beam scales out, TFX's executor runs there.
        use_executor(example_gen, csv_examples.Executor)
    # Its constructor takes no custom_config: the fingerprint goes in through the spec.
    set_code_fingerprint(example_gen, code[C.EXAMPLE_GEN])
    # Explicit edge: ExampleGen reads only files the CSV check has passed.
    example_gen.add_upstream_node(csv_check)
    statistics_gen = StatisticsGen(
        examples=example_gen.outputs[C.EXAMPLES_KEY]).with_id(C.STATISTICS_GEN)
    schema_gen = SchemaGen(
        statistics=statistics_gen.outputs[C.STATISTICS_KEY],
        infer_feature_shape=True).with_id(C.SCHEMA_GEN)
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs[C.STATISTICS_KEY],
        schema=curated_schema.outputs[C.SCHEMA_KEY]).with_id(C.EXAMPLE_VALIDATOR)
    gate = AnomalyGate(
        anomalies=example_validator.outputs[C.ANOMALIES_KEY],
        examples=example_gen.outputs[C.EXAMPLES_KEY],
        schema=curated_schema.outputs[C.SCHEMA_KEY],
        code_sha256=code[C.ANOMALY_GATE],
        label=spec.label, problem_type=spec.problem_type, classes_json=json.dumps(spec.classes),
        hooks=plan["hooks"] or "", min_examples=spec.min_examples,
        min_label_share=spec.min_label_share,
        max_outlier_share=spec.max_outlier_share).with_id(C.ANOMALY_GATE)
    drift_baseline = []
    drift_inputs = dict(examples=example_gen.outputs[C.EXAMPLES_KEY],
                        statistics=statistics_gen.outputs[C.STATISTICS_KEY],
                        schema=curated_schema.outputs[C.SCHEMA_KEY],
                        code_sha256=code[C.DRIFT_GATE])
    if runner not in NO_CUSTOM_RESOLVERS:
        drift_baseline = [Resolver(
            strategy_class=LastPassedSpanStrategy,
            statistics=statistics_gen.outputs[C.STATISTICS_KEY],
            examples=example_gen.outputs[C.EXAMPLES_KEY],
        ).with_id(C.DRIFT_BASELINE)]
        drift_inputs.update(baseline=drift_baseline[0].outputs[C.STATISTICS_KEY],
                            baseline_examples=drift_baseline[0].outputs[C.EXAMPLES_KEY])
    drift_gate = DriftGate(**drift_inputs).with_id(C.DRIFT_GATE)
    # Only data the anomaly gate passed is compared, so a COMPLETE drift gate means the span
    # passed both gates: that is what makes its statistics a baseline for later spans.
    drift_gate.add_upstream_node(gate)

    transform = Transform(
        examples=example_gen.outputs[C.EXAMPLES_KEY],
        schema=curated_schema.outputs[C.SCHEMA_KEY],
        preprocessing_fn=PREPROCESSING_FN,
        custom_config={"code_sha256": code[C.TRANSFORM], "plan": plan},
        # StatisticsGen already describes the raw data and the gate has validated it;
        # Transform's own pre/post statistics would repeat that work on every run.
        disable_statistics=True,
        # Transform only analyses the train split. Nothing is materialised: the Tuner and the
        # Trainer read the raw splits through the transform graph (modules/dataset.py), as the
        # served model and the Evaluator do, so no split is transformed and written only to be
        # read once.
        materialize=False,
        splits_config=transform_pb2.SplitsConfig(analyze=[C.TRAIN_SPLIT]),
        # Each run analyses a new span whole: an analyzer cache would only be written.
        disable_analyzer_cache=True,
        # The graph is built once in TF1 graph mode instead of traced by tf.function for each
        # analyzer phase: Transform alone on the taxi's rows, 12-15 s instead of 21-24 s. The
        # exported graph serves the same through TFT's Keras layer (Trainer, serving, TFMA).
        force_tf_compat_v1=True,
    ).with_id(C.TRANSFORM)
    # Explicit edges: Transform may only start once both gates have passed the data.
    transform.add_upstream_node(gate)
    transform.add_upstream_node(drift_gate)

    training_inputs = dict(
        examples=example_gen.outputs[C.EXAMPLES_KEY],
        transform_graph=transform.outputs[C.TRANSFORM_GRAPH_KEY],
        schema=curated_schema.outputs[C.SCHEMA_KEY],
    )
    tuning_inputs = {}
    tuning_reuse = []
    key = tuning_key(code[C.TUNER], inputs.schema_sha256, training, plan)
    if runner not in NO_CUSTOM_RESOLVERS:
        tuning_reuse = [Resolver(
            strategy_class=ReusableTuningStrategy,
            config={"tuning_key": key, "retune_every_spans": training.retune_every_spans},
            best_hyperparameters=Channel(
                type=standard_artifacts.HyperParameters),
            examples=example_gen.outputs[C.EXAMPLES_KEY],
        ).with_id(C.TUNING_REUSE)]
        tuning_inputs[C.TUNER_INPUT_PREVIOUS] = \
            tuning_reuse[0].outputs[C.BEST_HYPERPARAMETERS_KEY]
    tuner = PolicyTuner(
        tuner_fn=TUNER_FN,
        tuning_key=key,
        **tuning_inputs,
        train_args=trainer_pb2.TrainArgs(splits=[C.TRAIN_SPLIT],
                                       num_steps=training.tuner_train_steps),
        eval_args=trainer_pb2.EvalArgs(splits=[C.EVAL_SPLIT], num_steps=training.tuner_eval_steps),
        custom_config={"code_sha256": code[C.TUNER], "max_trials": training.tuner_trials,
                       "batch_size": training.batch_size, "plan": plan},
        **training_inputs,
    ).with_id(C.TUNER)
    trainer = Trainer(
        run_fn=RUN_FN,
        hyperparameters=tuner.outputs[C.BEST_HYPERPARAMETERS_KEY],
        train_args=trainer_pb2.TrainArgs(splits=[C.TRAIN_SPLIT], num_steps=training.train_steps),
        eval_args=trainer_pb2.EvalArgs(splits=[C.EVAL_SPLIT], num_steps=training.eval_steps),
        custom_config={"code_sha256": code[C.TRAINER], "batch_size": training.batch_size,
                       "plan": plan},
        **training_inputs,
    ).with_id(C.TRAINER)
    resolver = _baseline_resolver(baseline, trainer)
    evaluator = Evaluator(
        examples=example_gen.outputs[C.EXAMPLES_KEY],
        model=trainer.outputs[C.MODEL_KEY],
        baseline_model=resolver[0].outputs[C.RESOLVED_MODEL_KEY] if resolver else None,
        eval_config=create_eval_config(spec, with_baseline=bool(resolver)),
        # Blessed on data that neither tuned nor trained the model.
        example_splits=[C.TEST_SPLIT],
    ).with_id(C.EVALUATOR)
    # Pusher only exists in a run whose model was blessed: no PushedModel is ever published
    # for a rejected model.
    blessed = evaluator.outputs[C.BLESSING_KEY].future()[0].custom_property(C.BLESSED_PROPERTY)
    with Cond(blessed == 1):
        pusher = Pusher(
            model=trainer.outputs[C.MODEL_KEY],
            model_blessing=evaluator.outputs[C.BLESSING_KEY],
            push_destination=pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(
                    base_directory=config.serving_dir)),
            custom_config={"code_sha256": code[C.PUSHER]},
            custom_executor_spec=executor_spec.ExecutorClassSpec(OncePerModelExecutor),
        ).with_id(C.PUSHER)
    return [run_provenance, curated_schema, csv_check, example_gen, statistics_gen, schema_gen,
            example_validator, gate, *drift_baseline, drift_gate, transform, *tuning_reuse, tuner,
            trainer,
            *resolver, evaluator, pusher]


def _baseline_resolver(baseline: str, trainer) -> list:
    """[the resolver node handing the Evaluator its baseline], or [] for no baseline."""
    channels = dict(model=Channel(type=standard_artifacts.Model),
                    model_blessing=Channel(type=standard_artifacts.ModelBlessing))
    if baseline == NO_BASELINE:
        return []
    if baseline == LATEST_BLESSED:
        strategy = LatestBlessedModelStrategy
    else:
        strategy = BlessedBeforeCandidateStrategy
        channels[CANDIDATE_KEY] = trainer.outputs[C.MODEL_KEY]
    return [Resolver(strategy_class=strategy, **channels).with_id(C.RESOLVER)]


def create_pipeline(config: PipelineConfig, inputs: RunInputs,
                    metadata_connection: Optional[metadata_store_pb2.ConnectionConfig] = None,
                    baseline: str = BLESSED_BEFORE_CANDIDATE,
                    runner: str = "local") -> Pipeline:
    """The pipeline for `config` and what the runner gathered for it (pipeline/inputs.py:
    gather); no side effects, no file read.

    The runner chooses `metadata_connection` (tabflow/metadata/store.py: connection_config) and
    creates what it needs; None for orchestrators that record lineage themselves (Kubeflow,
    Vertex).
    """
    return Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=create_components(config, inputs, baseline, runner),
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection,
        beam_pipeline_args=beam_pipeline_args(config.beam),
    )
