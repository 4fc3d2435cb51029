"""The launcher the Airflow DAG (runners/airflow_dag.py) runs every component with: TFX's legacy
in-process launcher with the fixes of tabflow/compat/legacy_launcher.py, and what is this
runner's own: the failures Airflow must not retry, and a fault the retry tests inject.
"""
import os

import modules  # noqa: F401  sets Keras 2 before the TFX imports below load TensorFlow

from tabflow import environment
from tabflow.compat import legacy_launcher

FAULT = "TEST_FAIL_ONCE"
FAULT_VARIABLE = environment.name(FAULT)


class ConditionalLauncher(legacy_launcher.ConditionalLauncher):
    """The fixed legacy launcher, honouring tfx.dsl.Cond (see tabflow/compat/legacy_launcher.py).
    It turns the data gates' verdicts into AirflowFailException, which Airflow does not retry:
    bad data stays bad however often it is read."""

    def deterministic_failures(self) -> tuple:
        return deterministic_failures()

    def before_executor(self) -> None:
        """For the retry tests only: TABFLOW_TEST_FAIL_ONCE=<component id> makes that component
        fail on its first attempt in each DAG run, as a lost worker or a timed-out read
        would; the marker under the pipeline root lets the retry through."""
        if environment.get(FAULT) != self._component_info.component_id:
            return
        marker = os.path.join(self._pipeline_info.pipeline_root, ".test_faults",
                              f"{self._pipeline_info.run_id}.{self._component_info.component_id}"
                              .replace("/", "_").replace(":", "_"))
        if os.path.exists(marker):
            return
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        open(marker, "w").close()
        raise RuntimeError(f"injected transient fault ({FAULT_VARIABLE}): "
                           f"{self._component_info.component_id} fails on its first attempt")


def deterministic_failures() -> tuple:
    """The gates' verdicts on the data: a retry would read the same files and fail again."""
    from pipeline.components import AnomaliesFound, CsvFilesRejected
    from pipeline.drift_gate import DataDrifted
    return (CsvFilesRejected, AnomaliesFound, DataDrifted)
