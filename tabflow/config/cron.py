"""The one check of a schedule, shared by the Airflow and Kubeflow sections, and its cron
expression for the schedulers that take only those."""
from typing import Optional, Sequence


def valid_schedule(schedule: str, presets: Sequence[str]) -> bool:
    """Empty (no schedule), one of `presets`, or a five-field cron expression."""
    return (not schedule or schedule in presets
            or (not schedule.startswith("@") and len(schedule.split()) == 5))


# The presets that stand for a cron expression; "@once" and "@continuous" do not.
CRON_PRESETS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@weekly": "0 0 * * 0",
                "@monthly": "0 0 1 * *", "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *",
                "@annually": "0 0 1 1 *"}


def as_cron(schedule: str) -> Optional[str]:
    """A valid schedule as a five-field cron expression, for schedulers without presets
    (Dagster, Prefect); None for none, "@once" and "@continuous"."""
    schedule = CRON_PRESETS.get(schedule, schedule)
    return schedule if schedule and not schedule.startswith("@") else None
