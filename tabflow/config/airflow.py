"""When and how often the pipeline runs under a scheduler: the Airflow DAG, and Dagster and
Prefect with the same settings."""
from __future__ import annotations

import dataclasses
import datetime

from .cron import valid_schedule
from .paths import require


AIRFLOW_SCHEDULE_PRESETS = ("@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly",
                            "@quarterly", "@yearly", "@annually")


@dataclasses.dataclass
class AirflowConfig:
    """The Airflow DAG (runners/airflow_dag.py): an empty schedule means "only when triggered".
    With airflow_trigger = new_span the DAG runs when a new span lands instead of on the
    schedule: a watcher DAG looks every airflow_span_poll_seconds (docs/airflow.md). Dagster's
    schedule, sensor and retry policy (runners/dagster_defs.py) and Prefect's deployment
    schedule, span watcher and task retries (runners/prefect_flow.py) read the same settings:
    one set for every scheduler."""
    airflow_schedule: str = "@daily"
    airflow_trigger: str = "schedule"
    airflow_span_poll_seconds: int = 300
    airflow_start_date: str = "2026-01-01"
    airflow_retries: int = 2
    airflow_retry_delay_seconds: int = 300
    airflow_max_retry_delay_seconds: int = 3600
    airflow_exponential_backoff: bool = True

    def validate(self) -> None:
        try:
            # The DAG reads it the same way (runners/airflow_dag.py).
            datetime.datetime.fromisoformat(self.airflow_start_date)
        except (TypeError, ValueError):
            require(False, f"airflow_start_date must be an ISO date such as 2026-01-01, "
                            f"got {self.airflow_start_date!r}")
        schedule = self.airflow_schedule
        require(valid_schedule(schedule, AIRFLOW_SCHEDULE_PRESETS),
                 f"airflow_schedule must be empty, one of {AIRFLOW_SCHEDULE_PRESETS} or a "
                 f"five-field cron expression, got {schedule!r}")
        require(self.airflow_trigger in ("schedule", "new_span"),
                 f"airflow_trigger must be schedule or new_span, got {self.airflow_trigger!r}")
        require(self.airflow_span_poll_seconds >= 1, f"airflow_span_poll_seconds must be "
                                                      f">= 1, got {self.airflow_span_poll_seconds}")
        for name in ("airflow_retries", "airflow_retry_delay_seconds",
                     "airflow_max_retry_delay_seconds"):
            value = getattr(self, name)
            require(value >= 0, f"{name} must be >= 0, got {value}")
