"""Beam for the Beam-based components."""
from __future__ import annotations

import dataclasses
from typing import List

from .paths import require

# The presets pipeline/beam_presets.py defines, one builder each (a unit test pins the two).
BEAM_PRESETS = ("direct", "direct-multiprocess", "dataflow", "portable")


@dataclasses.dataclass
class BeamConfig:
    """Beam for the Beam-based components (ExampleGen, StatisticsGen, Transform, Evaluator): a
    preset (pipeline/beam_presets.py) plus any extra `beam_args`, which win; Dataflow and
    portable-runner settings for the presets that use them."""
    beam_preset: str = "direct"
    beam_args: List[str] = dataclasses.field(default_factory=list)
    gcp_project: str = ""
    gcp_region: str = "us-central1"
    beam_temp_location: str = ""
    beam_staging_location: str = ""
    dataflow_machine_type: str = "n1-standard-4"
    dataflow_max_workers: int = 4
    sdk_container_image: str = ""
    portable_job_endpoint: str = "localhost:8099"
    portable_environment_type: str = "EXTERNAL"
    portable_environment_config: str = "localhost:50000"

    def validate(self) -> None:
        require(self.beam_preset in BEAM_PRESETS,
                f"beam_preset must be one of {sorted(BEAM_PRESETS)}, got {self.beam_preset!r}")
        require(self.dataflow_max_workers >= 1,
                 f"dataflow_max_workers must be >= 1, got {self.dataflow_max_workers}")
        require(self.portable_environment_type in PORTABLE_ENVIRONMENT_TYPES,
                 f"portable_environment_type must be one of {PORTABLE_ENVIRONMENT_TYPES}, "
                 f"got {self.portable_environment_type!r}")


# Beam's portable runner environments (--environment_type).
PORTABLE_ENVIRONMENT_TYPES = ("DOCKER", "PROCESS", "EXTERNAL", "LOOPBACK")
