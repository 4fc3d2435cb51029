"""The one pipeline definition every runner compiles."""
import glob
import os

from tfx import v1 as tfx

from pipeline import contract as C
from pipeline import provenance
from pipeline.beam_presets import beam_pipeline_args
from pipeline.components import (SPAN_PATTERN, AnomalyGate, CsvCheck, CuratedSchemaGen,
                                 span_files_fingerprint)
from pipeline.config import PipelineConfig
from pipeline.eval_config import create_eval_config
from pipeline.fingerprints import modules_fingerprint

# Dotted paths into the installed `modules` package: no module wheel to build or ship, and the
# same import works in-process, on Beam workers and in a KFP container image. Code changes still
# invalidate the cache because the code's sha256 goes into each component's custom_config.
PREPROCESSING_FN = "modules.transform.preprocessing_fn"
TUNER_FN = "modules.tuner.tuner_fn"
RUN_FN = "modules.trainer.run_fn"

# Compile-only targets: the definition must not list a (remote) data_root there.
COMPILE_ONLY_RUNNERS = ("kfp", "vertex")


def _check_local_inputs(config: PipelineConfig) -> None:
    """Fail before anything runs when a local data_root or a requested span is missing (remote
    URIs are left to TFX). What the span folders hold is CsvCheck's to judge, with every
    problem in one message."""
    if "://" in config.data_root:
        return
    if not os.path.isdir(config.data_root):
        raise FileNotFoundError(f"data_root is not a directory: {config.data_root}")
    if config.span and not glob.glob(
            os.path.join(config.data_root, SPAN_PATTERN.replace("{SPAN}", str(config.span)))):
        raise FileNotFoundError(f"span {config.span} has no CSV file under {config.data_root}")


def _example_gen_input(config: PipelineConfig) -> dict:
    """ExampleGen ingests the latest span unless config.span names one."""
    args = dict(input_config=tfx.proto.Input(splits=[
        tfx.proto.Input.Split(name="single_split", pattern=SPAN_PATTERN)]))
    if config.span:
        args["range_config"] = tfx.proto.RangeConfig(static_range=tfx.proto.StaticRange(
            start_span_number=config.span, end_span_number=config.span))
    return args


def create_components(config: PipelineConfig, with_baseline: bool = True,
                      runner: str = "local") -> list:
    """The pipeline's components in topological order.

    with_baseline=False leaves out the latest-blessed-model resolver, for orchestrators that
    cannot run Resolver nodes (open-source KFP); the Evaluator then blesses on absolute
    thresholds only. `runner` is recorded in the run's provenance.
    """
    _check_local_inputs(config)
    run_provenance = provenance.RunProvenance(
        **provenance.collect(config, runner)).with_id(C.PROVENANCE)
    curated_schema = CuratedSchemaGen(schema_file=config.schema_path).with_id(C.CURATED_SCHEMA)
    csv_check = CsvCheck(
        schema=curated_schema.outputs[C.SCHEMA_KEY],
        data_root=config.data_root,
        span=config.span,
        # Compiled pipelines run later, elsewhere: no listing at compile time, so there the
        # check is cached on data_root and span only.
        files_fingerprint=("" if runner in COMPILE_ONLY_RUNNERS
                           else span_files_fingerprint(config.data_root)),
    ).with_id(C.CSV_CHECK)
    example_gen = tfx.components.CsvExampleGen(
        input_base=config.data_root,
        **_example_gen_input(config),
        # Hash buckets on the example's content: the same rows always land in the same split.
        output_config=tfx.proto.Output(split_config=tfx.proto.SplitConfig(splits=[
            tfx.proto.SplitConfig.Split(name="train", hash_buckets=2),
            tfx.proto.SplitConfig.Split(name="eval", hash_buckets=1),
        ])),
    ).with_id(C.EXAMPLE_GEN)
    # Explicit edge: ExampleGen reads only files the CSV check has passed.
    example_gen.add_upstream_node(csv_check)
    statistics_gen = tfx.components.StatisticsGen(
        examples=example_gen.outputs[C.EXAMPLES_KEY]).with_id(C.STATISTICS_GEN)
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs[C.STATISTICS_KEY],
        infer_feature_shape=True).with_id(C.SCHEMA_GEN)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs[C.STATISTICS_KEY],
        schema=curated_schema.outputs[C.SCHEMA_KEY]).with_id(C.EXAMPLE_VALIDATOR)
    gate = AnomalyGate(
        anomalies=example_validator.outputs[C.ANOMALIES_KEY]).with_id(C.ANOMALY_GATE)

    code_sha256 = modules_fingerprint()
    transform = tfx.components.Transform(
        examples=example_gen.outputs[C.EXAMPLES_KEY],
        schema=curated_schema.outputs[C.SCHEMA_KEY],
        preprocessing_fn=PREPROCESSING_FN,
        custom_config={"code_sha256": code_sha256},
        # StatisticsGen already describes the raw data and the gate has validated it;
        # Transform's own pre/post statistics would repeat that work on every run.
        disable_statistics=True,
    ).with_id(C.TRANSFORM)
    # Explicit edge: Transform may only start once the gate has passed the data.
    transform.add_upstream_node(gate)

    training_inputs = dict(
        examples=transform.outputs[C.TRANSFORMED_EXAMPLES_KEY],
        transform_graph=transform.outputs[C.TRANSFORM_GRAPH_KEY],
        schema=curated_schema.outputs[C.SCHEMA_KEY],
    )
    tuner = tfx.components.Tuner(
        tuner_fn=TUNER_FN,
        train_args=tfx.proto.TrainArgs(num_steps=config.tuner_train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=config.tuner_eval_steps),
        custom_config={"code_sha256": code_sha256, "max_trials": config.tuner_trials,
                       "batch_size": config.batch_size},
        **training_inputs,
    ).with_id(C.TUNER)
    trainer = tfx.components.Trainer(
        run_fn=RUN_FN,
        hyperparameters=tuner.outputs[C.BEST_HYPERPARAMETERS_KEY],
        train_args=tfx.proto.TrainArgs(num_steps=config.train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=config.eval_steps),
        custom_config={"code_sha256": code_sha256, "batch_size": config.batch_size},
        **training_inputs,
    ).with_id(C.TRAINER)
    baseline = []
    if with_baseline:
        baseline = [tfx.dsl.Resolver(
            strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
            model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
            model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
        ).with_id(C.RESOLVER)]
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs[C.EXAMPLES_KEY],
        model=trainer.outputs[C.MODEL_KEY],
        baseline_model=baseline[0].outputs[C.RESOLVED_MODEL_KEY] if baseline else None,
        eval_config=create_eval_config(config.min_auc, config.max_auc_regression,
                                       with_baseline=with_baseline),
    ).with_id(C.EVALUATOR)
    # Pusher only exists in a run whose model was blessed: no PushedModel is ever published
    # for a rejected model.
    with tfx.dsl.Cond(evaluator.outputs[C.BLESSING_KEY].future()[0].custom_property(C.BLESSED_PROPERTY) == 1):
        pusher = tfx.components.Pusher(
            model=trainer.outputs[C.MODEL_KEY],
            model_blessing=evaluator.outputs[C.BLESSING_KEY],
            push_destination=tfx.proto.PushDestination(
                filesystem=tfx.proto.PushDestination.Filesystem(
                    base_directory=config.serving_dir)),
        ).with_id(C.PUSHER)
    return [run_provenance, curated_schema, csv_check, example_gen, statistics_gen, schema_gen,
            example_validator, gate, transform, tuner, trainer, *baseline, evaluator, pusher]


def create_pipeline(config: PipelineConfig, with_baseline: bool = True,
                    runner: str = "local") -> tfx.dsl.Pipeline:
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=create_components(config, with_baseline, runner),
        enable_cache=config.enable_cache,
        metadata_connection_config=config.metadata_connection_config(),
        beam_pipeline_args=beam_pipeline_args(config),
    )
