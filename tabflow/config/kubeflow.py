"""Kubeflow v2 / Vertex."""
from __future__ import annotations

import dataclasses
from .cron import valid_schedule
from .paths import require


@dataclasses.dataclass
class KubeflowConfig:
    """Kubeflow v2 / Vertex (runners/kubeflow_v2.py): the image runs every component.
    kfp_output_dir defaults to <output_root>/kubeflow."""
    kfp_image: str = "taxi-tfx-pipeline:latest"
    kfp_target: str = "vertex"
    kfp_endpoint: str = ""
    kfp_output_dir: str = ""
    # Recurring runs (runners/kubeflow_schedule.py): a five-field cron or @hourly, @daily,
    # @weekly, @monthly, @yearly; empty: `kubeflow compile` writes no schedule.
    kfp_schedule: str = ""
    kfp_schedule_timezone: str = "UTC"

    def validate(self) -> None:
        require(self.kfp_target in ("vertex", "kfp"),
                 f"kfp_target must be 'vertex' or 'kfp', got {self.kfp_target!r}")
        presets = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually")
        schedule = self.kfp_schedule
        require(valid_schedule(schedule, presets),
                 f"kfp_schedule must be empty, one of {presets} or a five-field cron "
                 f"expression, got {schedule!r}")
