"""Pins every private internal tabflow/compat relies on, one test (or more) per compat module,
named test_<module>_...: a library upgrade that breaks an assumption fails here, naming the
compat module to revisit, instead of in the middle of a run.

Behaviour of the overrides themselves is tested where it is used (test_airflow_launcher.py,
test_baseline_and_push.py, test_tuning_policy.py, test_kubeflow_compile.py, test_model.py).
"""
import ast
import inspect
import re
import textwrap
from pathlib import Path

import pytest

import tabflow.compat
from tabflow import contract as C

COMPAT = Path(tabflow.compat.__file__).parent
COMPAT_MODULES = sorted(p.stem for p in COMPAT.glob("*.py") if p.stem != "__init__")


def _params(function) -> list:
    return [p for p in inspect.signature(function).parameters if p != "self"]


def _assert_params(function, expected, compat_module):
    found = _params(function)
    assert found == expected, (
        f"{function.__module__}.{function.__qualname__} changed its parameters from {expected} "
        f"to {found}: tabflow/compat/{compat_module}.py relies on them")


def _body(function) -> list:
    """The statements of a function's body, its docstring left out."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0].body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


# --- the package itself ----------------------------------------------------------------------

def test_every_compat_module_is_pinned_here():
    tests = [name for name in globals() if name.startswith("test_")]
    unpinned = [m for m in COMPAT_MODULES if not any(t.startswith(f"test_{m}_") for t in tests)]
    assert not unpinned, f"tabflow/compat modules without a pin test here: {unpinned}"


@pytest.mark.parametrize("name", COMPAT_MODULES)
def test_every_compat_module_says_what_it_relies_on_and_in_which_version(name):
    doc = ast.get_docstring(ast.parse((COMPAT / f"{name}.py").read_text())) or ""
    assert "Relies on" in doc and re.search(r"\d+\.\d+", doc), (
        f"tabflow/compat/{name}.py: its docstring must say which internal it relies on "
        f"('Relies on ...') and the library version it was checked in")


# --- autograph -------------------------------------------------------------------------------

def test_autograph_conversion_rules_are_a_module_tuple_read_at_each_conversion():
    from tensorflow.python.autograph.core import config as autograph_config
    from tensorflow.python.autograph.impl import conversion
    where = "tabflow/compat/autograph.py"
    assert isinstance(autograph_config.CONVERSION_RULES, tuple), (
        f"TensorFlow's autograph config.CONVERSION_RULES is no longer a tuple: {where} "
        f"prepends a rule to it")
    _assert_params(autograph_config.DoNotConvert, ["module_prefix"], "autograph")
    _assert_params(autograph_config.DoNotConvert.matches, ["module_name"], "autograph")
    # The rule TensorFlow keeps for `keras` is the one tf_keras lacks.
    assert any(isinstance(r, autograph_config.DoNotConvert) and r.matches("keras")
               for r in autograph_config.CONVERSION_RULES), (
        f"TensorFlow no longer keeps keras out of AutoGraph with a DoNotConvert rule: check "
        f"what replaced it before keeping {where}")
    # Looked up on the module at each conversion, so a rule set after import counts.
    assert "config.CONVERSION_RULES" in inspect.getsource(conversion), (
        f"AutoGraph's conversion no longer reads config.CONVERSION_RULES: {where} would have "
        f"no effect")


# --- example_gen -----------------------------------------------------------------------------

def test_example_gen_spec_has_a_custom_config_its_constructor_does_not_take():
    from tfx.components import CsvExampleGen
    from tfx.proto import example_gen_pb2
    from tabflow.compat import example_gen
    where = "tabflow/compat/example_gen.py"
    parameter = CsvExampleGen.SPEC_CLASS.PARAMETERS.get(example_gen.CUSTOM_CONFIG)
    assert parameter is not None and parameter.type is example_gen_pb2.CustomConfig, (
        f"CsvExampleGen's spec no longer has an optional CustomConfig parameter "
        f"'{example_gen.CUSTOM_CONFIG}': {where} puts the code fingerprint there")
    assert parameter.optional
    assert example_gen.CUSTOM_CONFIG not in _params(CsvExampleGen.__init__), (
        f"CsvExampleGen now takes custom_config: pass the fingerprint to its constructor and "
        f"delete {where}")
    component = CsvExampleGen(input_base="/nowhere")
    example_gen.set_code_fingerprint(component, "abc")
    assert component.exec_properties[example_gen.CUSTOM_CONFIG].custom_config.value.endswith(
        b"abc")


def test_example_gen_csv_executor_leaves_custom_config_to_the_record_reader():
    """The CSV executor must not act on custom_config: there it only carries a fingerprint."""
    from tfx.components.example_gen import base_example_gen_executor
    from tfx.components.example_gen.csv_example_gen import executor
    for module in (executor, base_example_gen_executor):
        assert "custom_config" not in inspect.getsource(module).replace(
            "CUSTOM_CONFIG_KEY", ""), (
            f"{module.__name__} now reads custom_config: tabflow/compat/example_gen.py's "
            f"fingerprint would reach it")


def test_example_gen_executor_is_the_attribute_the_compiler_reads():
    """use_executor sets CsvExampleGen's executor_spec attribute; the compiled node must name
    the batched executor, and the base executor must still expose what it overrides."""
    from tfx.components import CsvExampleGen
    from tfx.components.example_gen.base_example_gen_executor import BaseExampleGenExecutor
    from tfx.dsl.compiler import compiler
    from tfx.orchestration import pipeline as tfx_pipeline
    from tfx.proto.orchestration import executable_spec_pb2, pipeline_pb2
    from pipeline import csv_examples
    from tabflow.compat import example_gen
    assert "custom_executor_spec" not in _params(CsvExampleGen.__init__), (
        "CsvExampleGen now takes custom_executor_spec: pass it there and delete use_executor")
    _assert_params(BaseExampleGenExecutor._log_startup,
                   ["inputs", "outputs", "exec_properties"], "example_gen")
    component = CsvExampleGen(input_base="/nowhere")
    example_gen.use_executor(component, csv_examples.Executor)
    ir = compiler.Compiler().compile(tfx_pipeline.Pipeline(
        pipeline_name="p", pipeline_root="/tmp/p", components=[component]))
    deployment = pipeline_pb2.IntermediateDeploymentConfig()
    ir.deployment_config.Unpack(deployment)
    spec = executable_spec_pb2.BeamExecutableSpec()
    deployment.executor_specs[component.id].Unpack(spec)
    assert spec.python_executor_spec.class_path == "pipeline.csv_examples.Executor"


# --- example_gen_span ------------------------------------------------------------------------

def test_example_gen_span_is_resolved_by_the_function_tfx_exports_in_utils(tmp_path):
    from tfx.components.example_gen import utils
    from tfx.proto import example_gen_pb2, range_config_pb2
    from tabflow.compat.example_gen_span import example_gen_span
    _assert_params(utils.calculate_splits_fingerprint_span_and_version,
                   ["input_base_uri", "splits", "range_config"], "example_gen_span")
    for span in (1, 2):
        (tmp_path / f"span-{span}").mkdir()
        (tmp_path / f"span-{span}" / "a.csv").write_text("x\n1\n")

    def split():
        return example_gen_pb2.Input.Split(name="single_split", pattern="span-{SPAN}/*.csv")

    result = utils.calculate_splits_fingerprint_span_and_version(str(tmp_path), [split()])
    assert len(result) == 3 and result[1] == 2, (
        f"calculate_splits_fingerprint_span_and_version no longer returns (fingerprint, span, "
        f"version): tabflow/compat/example_gen_span.py reads the span, got {result!r}")
    assert example_gen_span(str(tmp_path), [split()], None) == 2
    static = range_config_pb2.RangeConfig(static_range=range_config_pb2.StaticRange(
        start_span_number=1, end_span_number=1))
    assert example_gen_span(str(tmp_path), [split()], static) == 1


# --- schema_gen ------------------------------------------------------------------------------

def test_schema_gen_spec_and_constructor_are_what_the_subclass_rebuilds():
    from tfx.components.schema_gen.import_schema_gen import executor
    from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
    from tfx.types.standard_component_specs import ImportSchemaGenSpec
    from tabflow.compat.schema_gen import FingerprintedImportSchemaGen
    where = "tabflow/compat/schema_gen.py"
    assert set(ImportSchemaGenSpec.PARAMETERS) == {"schema_file"}, (
        f"ImportSchemaGenSpec's parameters changed to {set(ImportSchemaGenSpec.PARAMETERS)}: "
        f"{where} builds the spec with schema_file only")
    assert set(ImportSchemaGenSpec.OUTPUTS) == {C.SCHEMA_KEY} and not ImportSchemaGenSpec.INPUTS
    _assert_params(ImportSchemaGen.__init__, ["schema_file"], "schema_gen")
    # The constructor builds the spec and calls BaseComponent.__init__, nothing else, so
    # building the extended spec instead skips nothing.
    statements = [ast.unparse(s) for s in _body(ImportSchemaGen.__init__)]
    assert len(statements) == 2 and "ImportSchemaGenSpec(" in statements[0] and \
        statements[1] == "super().__init__(spec=spec)", (
            f"ImportSchemaGen.__init__ now does more than build its spec: {statements}; "
            f"{where} skips it")
    component = FingerprintedImportSchemaGen("/schema.pbtxt", "s", "c")
    assert component.executor_spec.executor_class is executor.Executor
    assert set(component.exec_properties) == {"schema_file", "schema_sha256", "code_sha256"}


# --- tuner -----------------------------------------------------------------------------------

def test_tuner_spec_and_constructor_are_what_the_extension_rebuilds():
    from tfx.components.tuner.component import Tuner
    from tfx.types.standard_component_specs import TunerSpec
    where = "tabflow/compat/tuner.py"
    assert {"tuner_fn", "train_args", "eval_args", "custom_config"} <= set(TunerSpec.PARAMETERS)
    assert {C.EXAMPLES_KEY, "schema", C.TRANSFORM_GRAPH_KEY} <= set(TunerSpec.INPUTS)
    assert set(TunerSpec.OUTPUTS) == {C.BEST_HYPERPARAMETERS_KEY, C.TUNER_RESULTS_KEY}, (
        f"TunerSpec's outputs changed to {set(TunerSpec.OUTPUTS)}: {where} creates them")
    source = inspect.getsource(Tuner.__init__)
    for step in ("json_utils.dumps(custom_config)", "standard_component_specs.TunerSpec(",
                 "super().__init__(spec=spec)"):
        assert step in source, (
            f"Tuner.__init__ no longer does `{step}`: {where} ExtendedTuner does what it did")
    # Besides the spec, the constructor only packages a module_file, which is never given.
    extra = [ast.unparse(s) for s in _body(Tuner.__init__)
             if isinstance(s, ast.If) and "should_package_user_modules" in ast.unparse(s)]
    assert len(_body(Tuner.__init__)) == 6 and len(extra) == 1, (
        f"Tuner.__init__ changed shape: check what {where} ExtendedTuner skips")


def test_tuner_executor_do_and_context_are_what_the_policy_executor_uses():
    from tfx.components.tuner import executor as tuner_executor
    from tfx.dsl.components.base import base_executor
    _assert_params(tuner_executor.Executor.Do, ["input_dict", "output_dict", "exec_properties"],
                   "tuner")
    assert "self._context = context" in inspect.getsource(base_executor.BaseExecutor.__init__), (
        "BaseExecutor no longer keeps its context in self._context: tabflow/compat/tuner.py "
        "reads the pipeline run id there")
    assert isinstance(inspect.getattr_static(base_executor.BaseExecutor.Context,
                                             "pipeline_run_id"), property)


# --- pusher ----------------------------------------------------------------------------------

@pytest.mark.parametrize("method,params", [
    ("Do", ["input_dict", "output_dict", "exec_properties"]),
    ("_log_startup", ["inputs", "outputs", "exec_properties"]),
    ("CheckBlessing", ["input_dict"]),
    ("GetModelPath", ["input_dict"]),
    ("_MarkNotPushed", ["model_push"]),
    ("_MarkPushed", ["model_push", "pushed_destination", "pushed_version"]),
])
def test_pusher_executor_steps_keep_their_parameters(method, params):
    from tfx.components.pusher import executor as pusher_executor
    assert hasattr(pusher_executor.Executor, method), (
        f"TFX's Pusher executor has no {method} any more: tabflow/compat/pusher.py calls it")
    _assert_params(getattr(pusher_executor.Executor, method), params, "pusher")


def test_pusher_marks_the_properties_the_registry_reads():
    """OncePerModelExecutor writes `pushed` and `pushed_destination` itself for a model already
    served: they must stay the names TFX's own marks use."""
    from tfx.components.pusher import executor as pusher_executor
    from tfx.types import standard_artifacts, standard_component_specs
    assert (standard_component_specs.PUSH_DESTINATION_KEY, standard_component_specs.MODEL_KEY,
            standard_component_specs.PUSHED_MODEL_KEY) == (
        "push_destination", C.MODEL_KEY, "pushed_model")
    executor = pusher_executor.Executor()
    pushed, not_pushed = standard_artifacts.PushedModel(), standard_artifacts.PushedModel()
    executor._MarkPushed(pushed, pushed_destination="/serving/3", pushed_version="3")
    executor._MarkNotPushed(not_pushed)
    assert pushed.get_int_custom_property(C.PUSHED_PROPERTY) == 1
    assert pushed.get_string_custom_property(C.PUSHED_DESTINATION_PROPERTY) == "/serving/3", (
        "TFX's Pusher names the pushed destination differently now: tabflow/compat/pusher.py "
        "and pipeline/push.py write the old name")
    assert not_pushed.get_int_custom_property(C.PUSHED_PROPERTY) == 0


# --- legacy_launcher -------------------------------------------------------------------------

def _legacy_relied_on():
    from tfx.components.example_gen.driver import FileBasedDriver
    from tfx.dsl.components.base.base_driver import BaseDriver
    from tfx.orchestration import metadata
    from tfx.orchestration.launcher.base_component_launcher import BaseComponentLauncher
    from tfx.orchestration.launcher.in_process_component_launcher import \
        InProcessComponentLauncher
    # (TFX class, method, parameters the overrides pass or receive, in order, after self).
    return [
        # component_named_outputs: overridden; takes component_info by keyword.
        (BaseDriver, "_prepare_output_artifacts",
         ["input_artifacts", "output_dict", "exec_properties", "execution_id", "pipeline_info",
          "component_info"]),
        # CsvExampleGen's driver overrides it too, and is wrapped the same way.
        (FileBasedDriver, "_prepare_output_artifacts",
         ["input_artifacts", "output_dict", "exec_properties", "execution_id", "pipeline_info",
          "component_info"]),
        # MergedInputEventsMetadata: overridden; returns (artifact, event) pairs.
        (metadata.Metadata, "_artifact_and_event_pairs",
         ["artifact_dict", "event_type", "new_state", "registered_artifacts_ids"]),
        (metadata.Metadata, "__init__", ["connection_config"]),
        # ... and register_execution, for a retried task: reads the component_run context and
        # prepares the execution as TFX does.
        (metadata.Metadata, "register_execution",
         ["pipeline_info", "component_info", "contexts", "exec_properties", "input_artifacts"]),
        (metadata.Metadata, "_prepare_execution",
         ["state", "exec_properties", "pipeline_info", "component_info"]),
        (metadata.Metadata, "get_component_run_context", ["component_info"]),
        # SharedStoreLauncher: overridden and called through super() with these positionals.
        (BaseComponentLauncher, "_run_driver", ["input_dict", "output_dict", "exec_properties"]),
        (InProcessComponentLauncher, "_run_executor",
         ["execution_id", "input_dict", "output_dict", "exec_properties"]),
        # ConditionalLauncher: resolves the inputs its condition reads the way the driver does.
        (BaseDriver, "resolve_input_artifacts",
         ["input_dict", "exec_properties", "driver_args", "pipeline_info"]),
        (BaseComponentLauncher, "__init__",
         ["component", "pipeline_info", "driver_args", "metadata_connection",
          "beam_pipeline_args", "additional_pipeline_args", "component_config"]),
    ]


def _where(cls, name) -> str:
    return f"TFX {cls.__module__}.{cls.__qualname__}.{name}"


def test_legacy_launcher_private_methods_keep_the_parameters_the_overrides_use():
    for cls, name, params in _legacy_relied_on():
        assert name in vars(cls) or hasattr(cls, name), (
            f"{_where(cls, name)} no longer exists: tabflow/compat/legacy_launcher.py overrides "
            f"or calls it; check what replaced it before upgrading TFX")
        found = _params(getattr(cls, name))
        assert found == params, (
            f"{_where(cls, name)} changed its parameters from {params} to {found}: "
            f"tabflow/compat/legacy_launcher.py overrides or calls it with the old ones")


def test_legacy_launcher_overrides_only_methods_pinned_here():
    """An override whose TFX method is gone would silently never run."""
    from tfx.dsl.components.base.base_driver import BaseDriver
    from tabflow.compat import legacy_launcher
    checked = {(cls, name) for cls, name, _ in _legacy_relied_on()}
    for patch in (legacy_launcher.component_named_outputs(BaseDriver),
                  legacy_launcher.MergedInputEventsMetadata,
                  legacy_launcher.SharedStoreLauncher, legacy_launcher.ConditionalLauncher):
        for name, member in vars(patch).items():
            if not callable(member) or not name.startswith("_") or name.startswith("__"):
                continue
            base = next((b for b in patch.__mro__[1:] if name in vars(b)), None)
            assert base is not None, (
                f"{patch.__name__}.{name} overrides a TFX method that no longer exists")
            assert any(issubclass(base, cls) or issubclass(cls, base) for cls, n in checked
                       if n == name), (
                f"{patch.__name__}.{name} overrides {_where(base, name)}, which "
                f"tests/unit/tabflow/compat/test_compat.py does not pin: add it to _legacy_relied_on")


def test_legacy_launcher_internals_the_overrides_read_are_still_set():
    """SharedStoreLauncher reads attributes BaseComponentLauncher sets and wraps the driver
    class it chose; Metadata must still expose its connection config."""
    from tfx.dsl.components.base.base_driver import BaseDriver
    from tfx.orchestration import metadata
    from tfx.orchestration.launcher.base_component_launcher import BaseComponentLauncher
    from tfx.orchestration.launcher.in_process_component_launcher import \
        InProcessComponentLauncher
    where = "tabflow/compat/legacy_launcher.py"
    init = inspect.getsource(BaseComponentLauncher.__init__)
    for attribute in ("self._driver_class", "self._metadata_connection", "self._component_info",
                      "self._pipeline_info", "self._driver_args"):
        assert f"{attribute} =" in init, (
            f"TFX BaseComponentLauncher.__init__ no longer sets {attribute}: {where} relies on it")
    run_driver = inspect.getsource(BaseComponentLauncher._run_driver)
    assert "self._driver_class(" in run_driver, (
        f"TFX BaseComponentLauncher._run_driver no longer builds self._driver_class: "
        f"{where} component_named_outputs would never run")
    pre_execution = inspect.getsource(BaseDriver.pre_execution)
    assert "self._prepare_output_artifacts(" in pre_execution and \
        "component_info=component_info" in pre_execution, (
            f"TFX BaseDriver.pre_execution no longer calls _prepare_output_artifacts with "
            f"component_info by keyword: {where} relies on it")
    assert "self._metadata_handle" in inspect.getsource(BaseDriver.__init__)
    register = inspect.getsource(metadata.Metadata)
    assert "self._artifact_and_event_pairs(" in register, (
        f"TFX Metadata no longer records events through _artifact_and_event_pairs: "
        f"{where} MergedInputEventsMetadata would never run")
    assert isinstance(inspect.getattr_static(metadata.Metadata, "connection_config"), property), (
        f"TFX Metadata.connection_config is no longer a property: {where} reads it")
    assert hasattr(metadata, "EXECUTION_STATE_NEW")
    assert issubclass(InProcessComponentLauncher, BaseComponentLauncher)


def test_legacy_launcher_evaluates_a_condition_with_tfx_placeholder_resolution():
    from tfx.dsl.compiler import placeholder_utils
    from tfx.orchestration.portable import data_types
    _assert_params(placeholder_utils.resolve_placeholder_expression,
                   ["expression", "context"], "legacy_launcher")
    assert "exec_info" in _params(placeholder_utils.ResolutionContext)
    assert "input_dict" in _params(data_types.ExecutionInfo)


# --- kubeflow_spec ---------------------------------------------------------------------------

def test_kubeflow_spec_layout_is_the_one_tfx_compiles():
    from tfx.dsl.compiler import compiler_utils
    from tfx.orchestration.kubeflow import utils
    from tfx.orchestration.kubeflow.v2 import compiler_utils as v2_compiler_utils
    from tfx.types import channel, standard_artifacts
    from tabflow.compat import kubeflow_spec
    where = "tabflow/compat/kubeflow_spec.py"
    assert utils.TFX_DAG_NAME == kubeflow_spec.TFX_DAG, (
        f"TFX's KubeflowV2 compiler now names the exit handler's sub-DAG "
        f"{utils.TFX_DAG_NAME!r}: {where} looks for {kubeflow_spec.TFX_DAG!r}")
    blessing = channel.Channel(type=standard_artifacts.ModelBlessing,
                               producer_component_id=C.EVALUATOR, output_key=C.BLESSING_KEY)
    key = compiler_utils.implicit_channel_key(blessing)
    condition = f"inputs.artifacts['{key}'].artifacts"
    assert kubeflow_spec._CONDITION_INPUT.search(condition).groups() == (
        key, C.EVALUATOR, C.BLESSING_KEY), (
        f"TFX's implicit input key of a condition's channel is now {key!r}: {where} does not "
        f"recognise it")
    assert "inputs.artifacts['{placeholder_pb.key}']" in inspect.getsource(v2_compiler_utils), (
        f"TFX's KubeflowV2 compiler no longer writes conditions over inputs.artifacts[key]: "
        f"{where} rewrites them")


# --- portable_run ----------------------------------------------------------------------------

def test_portable_run_functions_keep_their_parameters():
    from tfx.dsl.compiler import compiler, constants
    from tfx.orchestration import metadata
    from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.portable import runtime_parameter_utils
    from tfx.orchestration.portable.mlmd import context_lib
    _assert_params(compiler.Compiler.compile, ["tfx_pipeline", "parent_pipeline_ctx"],
                   "portable_run")
    _assert_params(runtime_parameter_utils.substitute_runtime_parameter,
                   ["msg", "parameter_bindings"], "portable_run")
    assert constants.PIPELINE_RUN_ID_PARAMETER_NAME == "pipeline-run-id"
    _assert_params(context_lib.prepare_contexts, ["metadata_handle", "node_contexts"],
                   "portable_run")
    _assert_params(metadata.Metadata.__init__, ["connection_config"], "portable_run")
    assert hasattr(metadata.Metadata, "__enter__") and \
        isinstance(inspect.getattr_static(metadata.Metadata, "store"), property)
    for runner in (LocalDagRunner, BeamDagRunner):
        _assert_params(runner.run_with_ir, ["pipeline", "run_options"], "portable_run")


def test_portable_run_bound_run_id_is_kept_when_the_runner_binds_its_own():
    """The runner substitutes the run id again (with a timestamp): a bound value must stay."""
    from tfx.dsl.compiler import constants
    from tfx.orchestration.portable import runtime_parameter_utils
    from tfx.proto.orchestration import pipeline_pb2
    value = pipeline_pb2.Value(runtime_parameter=pipeline_pb2.RuntimeParameter(
        name=constants.PIPELINE_RUN_ID_PARAMETER_NAME, type=pipeline_pb2.RuntimeParameter.STRING))
    runtime_parameter_utils.substitute_runtime_parameter(
        value, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: "local-1"})
    runtime_parameter_utils.substitute_runtime_parameter(
        value, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: "runner's own"})
    assert value.field_value.string_value == "local-1", (
        "TFX now replaces a bound run id: tabflow/compat/portable_run.py binds it before the run")


def test_portable_run_partial_run_options_still_build():
    from tabflow.compat.portable_run import partial_run_options
    options = partial_run_options(C.TRAINER, "local-1")
    assert list(options.partial_run.from_nodes) == [C.TRAINER]
    assert options.partial_run.snapshot_settings.base_pipeline_run_strategy.base_run_id == \
        "local-1"


# --- runner_log ------------------------------------------------------------------------------

def test_runner_log_lines_are_the_ones_tfx_writes():
    from tfx.orchestration.beam import beam_dag_runner
    from tfx.orchestration.local import local_dag_runner
    from tfx.orchestration.portable import launcher
    from tabflow.compat import runner_log
    lines = [  # (module, format TFX logs with, its argument, pattern, captured)
        (local_dag_runner, "'Component %s is running.'", "Trainer", runner_log.RUNNING,
         "Trainer"),
        (local_dag_runner, "'Component %s is finished.'", "Trainer", runner_log.FINISHED,
         "Trainer"),
        (local_dag_runner, "'Skipping component %s.'", "Pusher", runner_log.SKIPPED_NODE,
         "Pusher"),
        (beam_dag_runner, "'node %s is running.'", "Trainer", runner_log.RUNNING, "Trainer"),
        (beam_dag_runner, "'node %s is finished.'", "Trainer", runner_log.FINISHED, "Trainer"),
        (launcher, "'A cached execution %d is used.'", 7, runner_log.CACHED, "7"),
        (launcher, "'Going to run a new execution %d'", 7, runner_log.NEW, "7"),
        (launcher, "'Skipping execution for %s'", "x", runner_log.SKIPPED_EXECUTION, None),
    ]
    for module, text, argument, pattern, captured in lines:
        assert f"logging.info({text}" in inspect.getsource(module), (
            f"{module.__name__} no longer logs {text}: tabflow/compat/runner_log.py reads a "
            f"run's progress from it")
        match = pattern.match(ast.literal_eval(text) % argument)
        assert match and (captured is None or match.group(1) == captured), (text, pattern)


# --- tfma_protos -----------------------------------------------------------------------------

def test_tfma_protos_metrics_for_slice_module_imports_only_protobuf():
    from tabflow.compat.tfma_protos import tfma_proto_path
    path = Path(tfma_proto_path())
    assert path.is_file(), (
        f"TFMA has no {path} any more: tabflow/compat/tfma_protos.py loads it by path")
    imported = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
    heavy = [name for name in imported if not name.startswith("google.protobuf")]
    assert not heavy, (
        f"TFMA's metrics_for_slice_pb2 now imports {heavy}: tabflow/compat/tfma_protos.py "
        f"loads it alone")


# --- airflow_datasets ------------------------------------------------------------------------

def test_airflow_datasets_models_keep_the_columns_read():
    from airflow.models.dataset import DatasetEvent, DatasetModel
    from airflow.utils.session import create_session
    for model, columns in ((DatasetModel, ("id", "uri")),
                           (DatasetEvent, ("dataset_id", "extra"))):
        missing = [c for c in columns if c not in model.__table__.columns]
        assert not missing, (
            f"Airflow's {model.__name__} has no column {missing}: "
            f"tabflow/compat/airflow_datasets.py queries it")
    assert not [p for p in inspect.signature(create_session).parameters.values()
                if p.default is inspect.Parameter.empty], \
        "airflow.utils.session.create_session now needs arguments"
    assert hasattr(create_session(), "__enter__")
