"""Failures every scheduler (Airflow, Dagster, Prefect) treats alike: the data gates' verdicts,
never retried, and the transient fault the retry tests inject."""
import os

from tabflow import environment

FAULT = "TEST_FAIL_ONCE"
FAULT_VARIABLE = environment.name(FAULT)


def deterministic_failures() -> tuple:
    """The gates' verdicts on the data: a retry would read the same files and fail again."""
    from pipeline.components import AnomaliesFound, CsvFilesRejected
    from pipeline.drift_gate import DataDrifted
    return (CsvFilesRejected, AnomaliesFound, DataDrifted)


def fail_once_if_asked(pipeline_root: str, run_id: str, component_id: str) -> None:
    """For the retry tests only: TABFLOW_TEST_FAIL_ONCE=<component id> makes that component
    fail on its first attempt in each run, as a lost worker or a timed-out read would; the
    marker under the pipeline root lets the retry through."""
    if environment.get(FAULT) != component_id:
        return
    marker = os.path.join(pipeline_root, ".test_faults",
                          f"{run_id}.{component_id}".replace("/", "_").replace(":", "_"))
    if os.path.exists(marker):
        return
    os.makedirs(os.path.dirname(marker), exist_ok=True)
    open(marker, "w").close()
    raise RuntimeError(f"injected transient fault ({FAULT_VARIABLE}): "
                       f"{component_id} fails on its first attempt")
