"""BeamDagRunner: the same pipeline, orchestrated as a Beam pipeline.

Each component becomes a step of one orchestrating Beam job that runs in this process; the
components' own Beam work (ExampleGen, StatisticsGen, Transform, Evaluator) goes wherever
config.beam.beam_preset sends it. Run ids start with "beam-"; the MLMD store, caching and outputs
are the local runner's, so Local and Beam runs share one store and reuse each other's cache.
"""
from typing import Optional

from tabflow.config import PipelineConfig
from runners import local_runner


def run(config: PipelineConfig, resume: Optional[str] = None,
        wait_seconds: float = 0.0) -> local_runner.RunResult:
    """resume: as local_runner.run's (BeamDagRunner.run_with_ir takes TFX's RunOptions too)."""
    import modules  # noqa: F401  sets Keras 2 before the TFX import below loads TensorFlow
    # tfx.v1 does not export BeamDagRunner in 1.16; this is its IR-based implementation.
    from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner
    return local_runner.run(config, engine=BeamDagRunner(), runner_name="beam", resume=resume,
                            wait_seconds=wait_seconds)
