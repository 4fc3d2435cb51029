"""runners/airflow_launcher.py overrides private methods of TFX's legacy orchestration: each one
it overrides or calls must still exist with the parameters it relies on.

A TFX upgrade that renames or reshapes one of them fails here, naming the method, instead of
in the middle of an Airflow run.
"""
import inspect
import os

import pytest

from runners import airflow_launcher
from tfx.dsl.components.base.base_driver import BaseDriver
from tfx.components.example_gen.driver import FileBasedDriver
from tfx.orchestration import metadata
from tfx.orchestration.launcher.base_component_launcher import BaseComponentLauncher
from tfx.orchestration.launcher.in_process_component_launcher import InProcessComponentLauncher

# (TFX class, method, parameters the patches pass or receive, in order, after self).
RELIED_ON = [
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
     ["component", "pipeline_info", "driver_args", "metadata_connection", "beam_pipeline_args",
      "additional_pipeline_args", "component_config"]),
]


def _where(cls, name) -> str:
    return f"TFX {cls.__module__}.{cls.__qualname__}.{name}"


@pytest.mark.parametrize("cls,name,params", RELIED_ON,
                         ids=[f"{c.__name__}.{n}" for c, n, _ in RELIED_ON])
def test_tfx_private_method_still_has_the_parameters_the_patches_use(cls, name, params):
    assert name in vars(cls) or hasattr(cls, name), (
        f"{_where(cls, name)} no longer exists: runners/airflow_launcher.py overrides or calls "
        f"it; check what replaced it before upgrading TFX")
    found = [p for p in inspect.signature(getattr(cls, name)).parameters if p != "self"]
    assert found == params, (
        f"{_where(cls, name)} changed its parameters from {params} to {found}: "
        f"runners/airflow_launcher.py overrides or calls it with the old ones")


def _patch_classes():
    return [airflow_launcher.component_named_outputs(BaseDriver),
            airflow_launcher.MergedInputEventsMetadata, airflow_launcher.SharedStoreLauncher,
            airflow_launcher.ConditionalLauncher]


@pytest.mark.parametrize("patch", _patch_classes(), ids=lambda c: c.__name__)
def test_every_private_override_is_of_a_method_tfx_still_has(patch):
    """An override whose TFX method is gone would silently never run."""
    checked = {(cls, name) for cls, name, _ in RELIED_ON}
    for name, member in vars(patch).items():
        if not callable(member) or not name.startswith("_") or name.startswith("__"):
            continue
        base = next((b for b in patch.__mro__[1:] if name in vars(b)), None)
        assert base is not None, (
            f"{patch.__name__}.{name} overrides a TFX method that no longer exists")
        assert any(issubclass(base, cls) or issubclass(cls, base) for cls, n in checked
                   if n == name), (
            f"{patch.__name__}.{name} overrides {_where(base, name)}, which "
            f"tests/unit/test_airflow_launcher.py does not check: add it to RELIED_ON")


def test_the_launcher_internals_the_patches_read_are_still_set():
    """SharedStoreLauncher reads attributes BaseComponentLauncher sets and wraps the driver
    class it chose; Metadata must still expose its connection config."""
    init = inspect.getsource(BaseComponentLauncher.__init__)
    for attribute in ("self._driver_class", "self._metadata_connection", "self._component_info"):
        assert f"{attribute} =" in init, (
            f"TFX BaseComponentLauncher.__init__ no longer sets {attribute}: "
            f"runners/airflow_launcher.py SharedStoreLauncher relies on it")
    run_driver = inspect.getsource(BaseComponentLauncher._run_driver)
    assert "self._driver_class(" in run_driver, (
        "TFX BaseComponentLauncher._run_driver no longer builds self._driver_class: "
        "runners/airflow_launcher.py component_named_outputs would never run")
    pre_execution = inspect.getsource(BaseDriver.pre_execution)
    assert "self._prepare_output_artifacts(" in pre_execution and \
        "component_info=component_info" in pre_execution, (
            "TFX BaseDriver.pre_execution no longer calls _prepare_output_artifacts with "
            "component_info by keyword: runners/airflow_launcher.py relies on it")
    register = inspect.getsource(metadata.Metadata)
    assert "self._artifact_and_event_pairs(" in register, (
        "TFX Metadata no longer records events through _artifact_and_event_pairs: "
        "runners/airflow_launcher.py MergedInputEventsMetadata would never run")
    assert isinstance(inspect.getattr_static(metadata.Metadata, "connection_config"), property), (
        "TFX Metadata.connection_config is no longer a property: "
        "runners/airflow_launcher.py SharedStoreLauncher reads it")
    assert issubclass(InProcessComponentLauncher, BaseComponentLauncher)


def test_the_pushers_condition_is_read_from_the_compiled_pipeline(tmp_path):
    """The Cond around Pusher compiles to a placeholder over the Evaluator's blessing, which
    Pusher also takes as its own input, so the launcher can evaluate it on Pusher's inputs."""
    from tfx.dsl.compiler.compiler import Compiler

    from tabflow import contract as C
    from tabflow.config import PipelineConfig
    from pipeline.pipeline import create_pipeline
    from pipeline.inputs import gather
    config = PipelineConfig.from_flat(output_root=str(tmp_path))
    conditions = airflow_launcher.node_conditionals(
        Compiler().compile(create_pipeline(config, gather(config, "airflow"), runner="airflow")))
    assert set(conditions) == {C.PUSHER}
    [(expression, channels)] = conditions[C.PUSHER]
    hidden = [k for k in channels if k.startswith("_")]
    assert [channels[k] for k in hidden] == [(C.EVALUATOR, C.BLESSING_KEY)]
    assert channels[C.PUSHER_INPUT_BLESSING] == (C.EVALUATOR, C.BLESSING_KEY)
    # Evaluated as the launcher does, on a blessing that is and one that is not blessed.
    from tfx.dsl.compiler import placeholder_utils
    from tfx.orchestration.portable import data_types
    from tfx.types import standard_artifacts
    for blessed in (1, 0):
        blessing = standard_artifacts.ModelBlessing()
        blessing.set_int_custom_property(C.BLESSED_PROPERTY, blessed)
        ok = placeholder_utils.resolve_placeholder_expression(
            expression, placeholder_utils.ResolutionContext(exec_info=data_types.ExecutionInfo(
                input_dict={k: [blessing] for k in hidden})))
        assert ok is bool(blessed)


def test_the_gates_verdicts_are_not_retried():
    from airflow.exceptions import AirflowFailException
    from pipeline.components import AnomaliesFound
    assert issubclass(AnomaliesFound, airflow_launcher.deterministic_failures())
    assert not issubclass(AirflowFailException, airflow_launcher.deterministic_failures())


def test_the_retry_cleanup_deletes_only_inside_the_pipeline_root(tmp_path):
    """A retried task empties the failed attempt's outputs as gc deletes: a symlinked output is
    unlinked (its target kept), and a path whose real path leaves the root is refused."""
    from tabflow.registry.containment import OutsideRoot
    from tfx.types import standard_artifacts
    root, outside = tmp_path / "root", tmp_path / "outside"
    (outside / "model").mkdir(parents=True)
    (outside / "model" / "keep.pb").write_bytes(b"x")
    (root / "Trainer").mkdir(parents=True)
    os.symlink(outside / "model", root / "Trainer" / "model")
    model = standard_artifacts.Model()
    model.uri = str(root / "Trainer" / "model")
    airflow_launcher._empty(model, str(root))
    assert (outside / "model" / "keep.pb").exists()
    assert os.path.isdir(model.uri) and not os.path.islink(model.uri)
    os.symlink(outside, root / "up")
    model.uri = str(root / "up" / "model")
    with pytest.raises(OutsideRoot, match="is outside"):
        airflow_launcher._empty(model, str(root))
    assert (outside / "model" / "keep.pb").exists()
