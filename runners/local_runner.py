"""LocalDagRunner: the embedded default, with an SQLite MLMD store under the output folder.

The runner chooses the metadata connection (the config's store, created if missing) and the
engine; the same function drives BeamDagRunner (runners/beam_runner.py): both are IR-based
runners.
"""
import datetime
import logging
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import List, Optional

from pipeline.config import PipelineConfig
from runners.progress import ProgressHandler, logs_to_file


class PipelineFailed(RuntimeError):
    def __init__(self, run_id: str, node_id: Optional[str], cause: BaseException):
        where = f"component {node_id}" if node_id else "pipeline set-up"
        super().__init__(f"run {run_id}: {where} failed: {cause}")
        self.run_id = run_id
        self.node_id = node_id
        self.cause = cause


@dataclass
class RunResult:
    wall_seconds: float
    run_id: Optional[str]
    executions: list = field(default_factory=list)
    pushed: List[str] = field(default_factory=list)


def metadata_connection(config: PipelineConfig):
    """The store section's connection for a writer; an SQLite store's folder is created."""
    from metadata.store import connection_config
    if not config.store.mysql_host:
        os.makedirs(os.path.dirname(config.store.metadata_path), exist_ok=True)
    return connection_config(config.store, create=True)


def _summarize(config: PipelineConfig, run_id: str, wall: float) -> RunResult:
    from pipeline import mlmd_queries
    store = mlmd_queries.connect(config.store)
    run = store.get_context_by_type_and_name("pipeline_run", run_id)
    if run is None:
        return RunResult(wall, run_id)
    records = mlmd_queries.run_executions(store, run)
    return RunResult(wall, run_id, records, mlmd_queries.pushed_destinations(records))


def new_run_id(runner_name: str) -> str:
    """Run ids name their runner, so MLMD's pipeline_run contexts say which runner made them."""
    return f"{runner_name}-{datetime.datetime.now().isoformat()}"


def run(config: PipelineConfig, engine=None, runner_name: str = "local") -> RunResult:
    """Run create_pipeline(config) on LocalDagRunner, or on another IR-based runner (engine)."""
    start = time.monotonic()
    run_id = new_run_id(runner_name)
    root = logging.getLogger()
    with logs_to_file(config.log_file) as terminal:
        handler = ProgressHandler(terminal)
        root.addHandler(handler)
        try:
            import modules  # noqa: F401  sets Keras 2 before TensorFlow loads
            from tfx import v1 as tfx
            from tfx.dsl.compiler import compiler, constants
            from tfx.orchestration.portable import runtime_parameter_utils
            from pipeline.pipeline import create_pipeline
            pipeline = create_pipeline(config, metadata_connection=metadata_connection(config),
                                       runner=runner_name)
            ir = compiler.Compiler().compile(pipeline)
            # Bound here, the run id is known before the run; the runner keeps it.
            runtime_parameter_utils.substitute_runtime_parameter(
                ir, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id})
            (engine or tfx.orchestration.LocalDagRunner()).run_with_ir(ir)
        except Exception as e:
            failed = handler.mark_failed()
            traceback.print_exc(file=sys.stderr)  # fd 2 is the log file here
            raise PipelineFailed(run_id, failed.node_id if failed else None, e) from e
        finally:
            root.removeHandler(handler)
    return _summarize(config, run_id, time.monotonic() - start)
