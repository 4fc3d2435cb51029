"""The one check of a schedule, shared by the Airflow and Kubeflow sections."""
from typing import Sequence


def valid_schedule(schedule: str, presets: Sequence[str]) -> bool:
    """Empty (no schedule), one of `presets`, or a five-field cron expression."""
    return (not schedule or schedule in presets
            or (not schedule.startswith("@") and len(schedule.split()) == 5))
