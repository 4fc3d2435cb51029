"""The Airflow launcher's own behaviour: the Cond it evaluates, the failures it does not retry,
the retry's cleanup. tests/unit/tabflow/compat/test_compat.py pins the TFX internals its fixes
(tabflow/compat/legacy_launcher.py) override.
"""
import os

import pytest

from runners import airflow_launcher
from tabflow.compat import legacy_launcher


def test_the_pushers_condition_is_read_from_the_compiled_pipeline(tmp_path):
    """The Cond around Pusher compiles to a placeholder over the Evaluator's blessing, which
    Pusher also takes as its own input, so the launcher can evaluate it on Pusher's inputs."""
    from tabflow import contract as C
    from tabflow.config import PipelineConfig
    from pipeline.pipeline import create_pipeline
    from pipeline.inputs import gather
    config = PipelineConfig.from_flat(output_root=str(tmp_path))
    launcher = airflow_launcher.ConditionalLauncher.for_pipeline(
        create_pipeline(config, gather(config, "airflow"), runner="airflow"))
    assert issubclass(launcher, airflow_launcher.ConditionalLauncher)
    conditions = launcher.CONDITIONALS
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
    legacy_launcher.empty_output(model, str(root))
    assert (outside / "model" / "keep.pb").exists()
    assert os.path.isdir(model.uri) and not os.path.islink(model.uri)
    os.symlink(outside, root / "up")
    model.uri = str(root / "up" / "model")
    with pytest.raises(OutsideRoot, match="is outside"):
        legacy_launcher.empty_output(model, str(root))
    assert (outside / "model" / "keep.pb").exists()
