"""What a run on an orchestrator that drives the nodes itself (Dagster, Prefect) shares with a
Local run: the output check, the pipeline's run lock, the run's IR compiled with its MLMD run id,
its process recorded in MLMD, TFX's logs in the log file (redacted), the run marked finished,
and its end reported (alerts, metrics, OpenLineage: runners/run_end.py). Each node is launched
with TFX's portable launcher, as LocalDagRunner launches it, against the pipeline's MLMD store:
caching, resolvers, the Cond around the Pusher and the gates behave as on Local.
"""
import contextlib
import dataclasses
import logging
from typing import Any, Mapping, Optional

from tabflow.config import PipelineConfig, parse_value
from runners import local_runner


@dataclasses.dataclass
class OrchestratedRun:
    config: PipelineConfig
    run_id: str
    ir: Any  # pipeline_pb2.Pipeline, compiled for this run
    # Set by the orchestrator when a node failed for good and the failure did not reach the
    # `with` block as an exception (a Dagster op's failure ends its step, not the resource).
    error: Optional[str] = None


class NodeFailed(RuntimeError):
    pass


def with_settings(config: PipelineConfig, settings: Optional[Mapping[str, Any]],
                  source: str) -> PipelineConfig:
    """`config` with settings given by flat name (as text or a plain value) for one run, such
    as a Dagster run config's or a Prefect flow run's parameters. A bad one is a ValueError
    naming `source` and the setting."""
    if not settings:
        return config
    from tabflow.config import FIELDS
    parsed = {}
    for name, value in settings.items():
        if name not in FIELDS:
            raise ValueError(f"{source}: unknown setting {name!r}")
        parsed[name] = parse_value(name, value if isinstance(value, str) else
                                   str(value).lower() if isinstance(value, bool) else
                                   str(value), f"{source}.{name}")
    return config.replace(**parsed)


def node_ids(ir) -> list:
    """The ids of the IR's nodes, in topological order (the compiler's)."""
    return [node.pipeline_node.node_info.id for node in ir.nodes]


def launch(ir, node_id: str) -> bool:
    """Runs one node of `ir` with TFX's portable launcher (as LocalDagRunner does); False when
    the node is skipped in this run (a partial run), without launching it."""
    from tfx.orchestration import metadata
    from tfx.orchestration.local import runner_utils
    from tfx.orchestration.portable import launcher
    [node] = [n.pipeline_node for n in ir.nodes if n.pipeline_node.node_info.id == node_id]
    if node.execution_options.HasField("skip"):
        return False
    deployment = runner_utils.extract_local_deployment_config(ir)
    connection = getattr(deployment.metadata_connection_config,
                         deployment.metadata_connection_config.WhichOneof("connection_config"))
    launcher.Launcher(
        pipeline_node=node, mlmd_connection=metadata.Metadata(connection),
        pipeline_info=ir.pipeline_info, pipeline_runtime_spec=ir.runtime_spec,
        executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
        custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id)).launch()
    return True


def deterministic_failures() -> tuple:
    """The gates' verdicts on the data: a retry would read the same files and fail again."""
    from runners.airflow_launcher import deterministic_failures as verdicts
    return verdicts()


@contextlib.contextmanager
def orchestrated_run(config: PipelineConfig, runner_name: str, wait_seconds: float = 0.0):
    """Yields the OrchestratedRun whose nodes the orchestrator then launches, in topological
    order, one at a time. Raises local_runner.PipelineFailed when a node failed (an exception
    out of the block, or `run.error` set), after the run's end is reported either way."""
    from runners.progress import logs_to_file
    from runners.run_end import report_run_end
    from tabflow.metadata import run_lock, runs
    local_runner.check_outputs(config)
    run_id = local_runner.new_run_id(runner_name)
    error = None
    try:
        with run_lock.held(config.store, config.pipeline_name, f"run {run_id}", wait_seconds,
                           on_renew=lambda store: runs.renew_run_lease(
                               store, run_id, run_lock.LEASE_SECONDS)):
            with logs_to_file(config.log_file) as terminal:
                with local_runner.prepared_run(config, runner_name, run_id, terminal) as ir:
                    run = OrchestratedRun(config, run_id, ir)
                    yield run
                    if run.error is not None:
                        raise NodeFailed(run.error)
    except local_runner.PipelineFailed as e:
        error = str(e.cause)
        raise
    except Exception as e:  # the lock, the log file: nothing was recorded as run
        error = str(e)
        raise
    finally:
        report_run_end(config, run_id, error=error)


class ForwardedLogs(logging.Handler):
    """TFX's log records during one node, redacted, to an orchestrator's per-step logger (which
    its UI shows beside the step). Beam's INFO chatter stays in the log file only."""

    def __init__(self, target: logging.Logger):
        super().__init__(logging.INFO)
        from tabflow.redaction import RedactingFilter
        self.target = target
        self.forwarding = False
        self.addFilter(RedactingFilter())

    def filter(self, record) -> bool:
        if record.levelno < logging.WARNING and record.name.startswith("apache_beam"):
            return False
        # The orchestrator's own records (also those this handler forwards, should its logger
        # pass them on to the root) are its own to show.
        if record.name.startswith(("dagster", "prefect")) or self.forwarding:
            return False
        return super().filter(record)

    def emit(self, record) -> None:
        self.forwarding = True
        try:
            self.target.log(record.levelno, "%s: %s", record.name, record.getMessage())
        except Exception:  # noqa: BLE001  a log line is never worth a failed node
            pass
        finally:
            self.forwarding = False


@contextlib.contextmanager
def forwarded_logs(target):
    handler = ForwardedLogs(target)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
