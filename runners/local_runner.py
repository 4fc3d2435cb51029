"""LocalDagRunner: the embedded default, with an SQLite MLMD store under the output folder."""
import logging
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import List, Optional

from pipeline.config import PipelineConfig
from runners.progress import ProgressHandler, logs_to_file


class PipelineFailed(RuntimeError):
    def __init__(self, node_id: Optional[str], cause: BaseException):
        where = f"component {node_id}" if node_id else "pipeline set-up"
        super().__init__(f"{where} failed: {cause}")
        self.node_id = node_id
        self.cause = cause


@dataclass
class RunResult:
    wall_seconds: float
    run_id: Optional[str]
    executions: list = field(default_factory=list)
    pushed: List[str] = field(default_factory=list)


def _summarize(config: PipelineConfig, wall: float) -> RunResult:
    from pipeline import mlmd_queries
    store = mlmd_queries.connect(config)
    run = mlmd_queries.latest_run(store, config.pipeline_name)
    if run is None:
        return RunResult(wall, None)
    records = mlmd_queries.run_executions(store, run)
    return RunResult(wall, run.name, records, mlmd_queries.pushed_destinations(records))


def run(config: PipelineConfig, engine=None) -> RunResult:
    """Run create_pipeline(config) on LocalDagRunner (or another IR runner passed as engine)."""
    start = time.monotonic()
    root = logging.getLogger()
    with logs_to_file(config.log_file) as terminal:
        handler = ProgressHandler(terminal)
        root.addHandler(handler)
        try:
            import modules  # noqa: F401  sets Keras 2 before TensorFlow loads
            from tfx import v1 as tfx
            from pipeline.pipeline import create_pipeline
            pipeline = create_pipeline(config)
            (engine or tfx.orchestration.LocalDagRunner()).run(pipeline)
        except Exception as e:
            failed = handler.mark_failed()
            traceback.print_exc(file=sys.stderr)  # fd 2 is the log file here
            raise PipelineFailed(failed.node_id if failed else None, e) from e
        finally:
            root.removeHandler(handler)
    return _summarize(config, time.monotonic() - start)
