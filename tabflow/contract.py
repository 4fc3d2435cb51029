"""What the pipeline is made of, in the names every reader uses: node ids, output keys, artifact
type names and file names inside artifacts.

The definition (pipeline/pipeline.py) builds its nodes with these ids and every reader (the
metadata layer, lineage, report, notebooks, benchmarks) looks outputs up through them, so a
rename happens here once. Imports nothing: readers load it without TFX.
tests/unit/tabflow/test_contract.py compiles the pipeline and pins it to this module.
"""

# Node ids, in the definition's topological order.
PROVENANCE = "RunProvenance"
CURATED_SCHEMA = "ImportSchemaGen"
CSV_CHECK = "CsvCheck"
EXAMPLE_GEN = "CsvExampleGen"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "SchemaGen"
EXAMPLE_VALIDATOR = "ExampleValidator"
ANOMALY_GATE = "AnomalyGate"
DRIFT_BASELINE = "drift_baseline_resolver"
DRIFT_GATE = "DriftGate"
TRANSFORM = "Transform"
TUNING_REUSE = "tuning_reuse_resolver"
TUNER = "Tuner"
TRAINER = "Trainer"
RESOLVER = "latest_blessed_model_resolver"
EVALUATOR = "Evaluator"
PUSHER = "Pusher"

# System nodes that pick artifacts from MLMD; they run on every run, cached or not.
RESOLVERS = (DRIFT_BASELINE, TUNING_REUSE, RESOLVER)

NODES = (PROVENANCE, CURATED_SCHEMA, CSV_CHECK, EXAMPLE_GEN, STATISTICS_GEN, SCHEMA_GEN,
         EXAMPLE_VALIDATOR, ANOMALY_GATE, DRIFT_BASELINE, DRIFT_GATE, TRANSFORM, TUNING_REUSE,
         TUNER, TRAINER, RESOLVER, EVALUATOR, PUSHER)

# Output keys, by node.
PROVENANCE_KEY = "provenance"
CSV_CHECK_KEY = "report"
EXAMPLES_KEY = "examples"
STATISTICS_KEY = "statistics"
SCHEMA_KEY = "schema"
ANOMALIES_KEY = "anomalies"
VERDICT_KEY = "verdict"
DRIFT_REPORT_KEY = "drift_report"
TRANSFORM_GRAPH_KEY = "transform_graph"
BEST_HYPERPARAMETERS_KEY = "best_hyperparameters"
TUNER_RESULTS_KEY = "tuner_results"
MODEL_KEY = "model"
MODEL_RUN_KEY = "model_run"
EVALUATION_KEY = "evaluation"
BLESSING_KEY = "blessing"
PUSHED_MODEL_KEY = "pushed_model"
RESOLVED_MODEL_KEY = "model"
RESOLVED_BLESSING_KEY = "model_blessing"

OUTPUTS = {
    PROVENANCE: (PROVENANCE_KEY,),
    CURATED_SCHEMA: (SCHEMA_KEY,),
    CSV_CHECK: (CSV_CHECK_KEY,),
    EXAMPLE_GEN: (EXAMPLES_KEY,),
    STATISTICS_GEN: (STATISTICS_KEY,),
    SCHEMA_GEN: (SCHEMA_KEY,),
    EXAMPLE_VALIDATOR: (ANOMALIES_KEY,),
    ANOMALY_GATE: (VERDICT_KEY,),
    DRIFT_BASELINE: (STATISTICS_KEY, EXAMPLES_KEY),
    DRIFT_GATE: (DRIFT_REPORT_KEY,),
    TRANSFORM: (TRANSFORM_GRAPH_KEY,),
    TUNING_REUSE: (BEST_HYPERPARAMETERS_KEY, EXAMPLES_KEY),
    TUNER: (BEST_HYPERPARAMETERS_KEY, TUNER_RESULTS_KEY),
    TRAINER: (MODEL_KEY, MODEL_RUN_KEY),
    RESOLVER: (RESOLVED_MODEL_KEY, RESOLVED_BLESSING_KEY),
    EVALUATOR: (EVALUATION_KEY, BLESSING_KEY),
    PUSHER: (PUSHED_MODEL_KEY,),
}

# Input keys the readers follow upstream.
TRAINER_INPUT_SCHEMA = "schema"
TRAINER_INPUT_TRANSFORM_GRAPH = "transform_graph"
TRAINER_INPUT_HYPERPARAMETERS = "hyperparameters"
TRANSFORM_INPUT_EXAMPLES = "examples"
TUNER_INPUT_PREVIOUS = "previous_hyperparameters"
EVALUATOR_INPUT_MODEL = "model"
EVALUATOR_INPUT_BASELINE = "baseline_model"
PUSHER_INPUT_MODEL = "model"
PUSHER_INPUT_BLESSING = "model_blessing"
VALIDATOR_INPUT_SCHEMA = "schema"
DRIFT_GATE_INPUT_STATISTICS = "statistics"
DRIFT_GATE_INPUT_BASELINE = "baseline"
DRIFT_GATE_INPUT_BASELINE_EXAMPLES = "baseline_examples"

# Artifact type names as MLMD records them. The project's own types are "<module>.<Class>"
# because KFP v2 containers re-import the class from that name (pipeline/__init__.py).
PROVENANCE_TYPE = "pipeline.RunProvenance"
# Stores written before the types were renamed call them by the bare class name.
PROVENANCE_TYPES = (PROVENANCE_TYPE, "RunProvenance")
GATE_VERDICT_TYPE = "pipeline.DataGateVerdict"
DRIFT_REPORT_TYPE = "pipeline.DriftReport"
CSV_CHECK_TYPE = "pipeline.CsvCheckReport"
EXAMPLES_TYPE = "Examples"
MODEL_TYPE = "Model"
PUSHED_MODEL_TYPE = "PushedModel"
MODEL_BLESSING_TYPE = "ModelBlessing"
DERIVED_TYPES = ("TransformGraph", MODEL_TYPE, "ModelEvaluation", MODEL_BLESSING_TYPE,
                 PUSHED_MODEL_TYPE)

# Execution type of TFX's resolver nodes (lineage traversals stop there).
RESOLVER_EXECUTION_TYPE = "tfx.dsl.components.common.resolver.Resolver"

# Custom properties the readers rely on.
SPAN_PROPERTY = "span"
PUSHED_PROPERTY = "pushed"
PUSHED_DESTINATION_PROPERTY = "pushed_destination"
PUSHED_VERSION_PROPERTY = "pushed_version"
BLESSED_PROPERTY = "blessed"
BASELINE_MODEL_PROPERTY = "baseline_model_id"
# On HyperParameters (pipeline/tuning.py): the search that chose the values.
TUNING_KEY_PROPERTY = "tuning_key"
TUNED_ON_SPAN_PROPERTY = "tuned_on_span"
TUNED_IN_RUN_PROPERTY = "tuned_in_run"
TUNING_REUSED_FROM_PROPERTY = "reused_from"
CURRENT_MODEL_PROPERTY = "current_model_id"
SCHEMA_SHA256_PROPERTY = "schema_sha256"
PASSED_PROPERTY = "passed"
BASELINE_PROPERTY = "baseline"
BASELINE_SPAN_PROPERTY = "baseline_span"
BASELINE_STATISTICS_PROPERTY = "baseline_statistics_id"
# A DriftReport names the statistics and Examples it passed: later spans' baseline.
STATISTICS_ID_PROPERTY = "statistics_id"
EXAMPLES_ID_PROPERTY = "examples_id"

# The serving folder (config.serving_dir): numbered version folders TensorFlow Serving loads,
# a record per version of the model it holds, and TensorFlow Serving's model config, whose
# version labels are the aliases (pipeline/push.py, registry/).
MODEL_SOURCES_FOLDER = ".model-sources"
MODEL_CONFIG_FILE = "models.config"
SERVING_ALIAS = "serving"
# Set on a PushedModel whose model already served: the version that holds it.
ALREADY_PUSHED_PROPERTY = "already_pushed_version"
# A PushedModel made by `promote --force` of a model that was not blessed.
OVERRIDE_PROPERTY = "blessing_override"
OVERRIDE_REASON_PROPERTY = "override_reason"

# A change of alias (promote, rollback) is an MLMD execution of this type, attributed to the
# pipeline's context, with the Model and the PushedModel it points the alias at as inputs.
ALIAS_CHANGE_TYPE = "pipeline.ModelAliasChange"
ALIAS_INPUT_MODEL = "model"
ALIAS_INPUT_PUSHED_MODEL = "pushed_model"
ALIAS_PROPERTIES = ("alias", "version", "previous_version", "action", "reason", "user",
                    "serving_dir", "override")

# Retention (`tabflow gc`): an artifact whose files were removed keeps its record, with
# state DELETED and the time of removal (ms since the epoch) in this custom property.
FILES_REMOVED_PROPERTY = "files_removed_at"
# A PushedModel whose serving version folder was removed: the time of removal.
SERVING_REMOVED_PROPERTY = "serving_version_removed_at"

# File names inside artifact folders.
SPLIT_PREFIX = "Split-"
SCHEMA_FILE = "schema.pbtxt"
STATISTICS_FILE = "FeatureStats.pb"
ANOMALIES_FILE = "SchemaDiff.pb"
HYPERPARAMETERS_FILE = "best_hyperparameters.txt"
TUNER_RESULTS_FILE = "tuner_results.json"
PROVENANCE_FILE = "provenance.json"
GATE_VERDICT_FILE = "verdict.json"
DRIFT_REPORT_FILE = "drift.json"
CSV_CHECK_FILE = "csv_check.json"
EVAL_CONFIG_FILE = "eval_config.json"
VALIDATIONS_FILE = "validations.tfrecord"
METRICS_PREFIX = "metrics"
PLOTS_PREFIX = "plots"

# The name TFX's Evaluator gives the baseline model spec.
BASELINE_MODEL_NAME = "baseline"
CANDIDATE_MODEL_NAME = "candidate"

# Splits of every span (hashed on the example's content). Tuner and Trainer fit on train and
# validate on eval; the Evaluator blesses on test alone, data that chose nothing.
TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"
TEST_SPLIT = "test"
SPLITS = (TRAIN_SPLIT, EVAL_SPLIT, TEST_SPLIT)
EVALUATOR_SPLITS_PROPERTY = "example_splits"

# MLMD context types. Local and Beam runs: `pipeline` > `pipeline_run`, nodes in `node`.
# Airflow's legacy launcher: `pipeline`, `run` ("<pipeline>.<run id>"), `component_run`.
PIPELINE_CONTEXT = "pipeline"
IR_RUN_CONTEXT = "pipeline_run"
IR_NODE_CONTEXT = "node"
AIRFLOW_RUN_CONTEXT = "run"
AIRFLOW_NODE_CONTEXT = "component_run"
# Custom properties of an IR run context, set by runners/local_runner.py before the first node:
# the process that runs it, so readers can tell a live run from one whose process died.
RUN_HOST_PROPERTY = "runner_host"
RUN_PID_PROPERTY = "runner_pid"
RUN_PROCESS_START_PROPERTY = "runner_process_start"
# The kernel's boot id and the pid namespace: with host, pid and start time they name one
# process even among containers that share a host name.
RUN_BOOT_ID_PROPERTY = "runner_boot_id"
RUN_PID_NAMESPACE_PROPERTY = "runner_pid_namespace"
# Seconds since the epoch (a double) until which the run's process vouches for itself; renewed while
# it lives (tabflow/metadata/run_lock.py), so any host can tell a stale run.
RUN_LEASE_PROPERTY = "runner_lease_until"
# Set when the process ended and could still write (any outcome, failure included).
RUN_FINISHED_PROPERTY = "runner_finished"
# Set on a run whose process died part-way (SIGKILL, OOM, reboot) by the next run that opens
# the store for writing: the run id that recorded it. Its unfinished executions are CANCELED.
RUN_ABANDONED_PROPERTY = "abandoned_by"
RUN_CONTEXT_TYPES = (IR_RUN_CONTEXT, AIRFLOW_RUN_CONTEXT)
# The run lock's context type (tabflow/metadata/run_lock.py): one context per holder, "<pipeline>#<n>".
LOCK_CONTEXT = "pipeline_lock"
NODE_CONTEXT_TYPES = (IR_NODE_CONTEXT, AIRFLOW_NODE_CONTEXT)
