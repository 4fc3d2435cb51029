"""The launcher the Airflow DAG (runners/airflow_dag.py) runs every component with: TFX's legacy
in-process launcher with the fixes of tabflow/compat/legacy_launcher.py, and what is this
runner's own: the failures Airflow must not retry, and a fault the retry tests inject.
"""
import modules  # noqa: F401  sets Keras 2 before the TFX imports below load TensorFlow

from runners.faults import deterministic_failures, fail_once_if_asked
from tabflow.compat import legacy_launcher

__all__ = ["ConditionalLauncher", "deterministic_failures"]


class ConditionalLauncher(legacy_launcher.ConditionalLauncher):
    """The fixed legacy launcher, honouring tfx.dsl.Cond (see tabflow/compat/legacy_launcher.py).
    It turns the data gates' verdicts into AirflowFailException, which Airflow does not retry:
    bad data stays bad however often it is read."""

    def deterministic_failures(self) -> tuple:
        return deterministic_failures()

    def before_executor(self) -> None:
        fail_once_if_asked(self._pipeline_info.pipeline_root, self._pipeline_info.run_id,
                           self._component_info.component_id)
