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
from runners.faults import deterministic_failures, fail_once_if_asked

__all__ = ["deterministic_failures", "launch", "orchestrated_run", "run_config"]


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


def run_config(settings: Optional[Mapping[str, Any]], source: str) -> PipelineConfig:
    """The configuration of one run: defaults, TABFLOW_* variables, then `settings` by flat
    name (as text or plain values: a Dagster run config's, a Prefect flow run's parameters, or
    the flags of `tabflow run`), each derived path following them as it does from flags. A bad
    one is a ValueError naming `source` and the setting."""
    from tabflow.config import FIELDS, from_sources
    parsed = {}
    for name, value in (settings or {}).items():
        if name not in FIELDS:
            raise ValueError(f"{source}: unknown setting {name!r}")
        text = (value if isinstance(value, str) else str(value).lower()
                if isinstance(value, bool) else str(value))
        parsed[name] = parse_value(name, text, f"{source}.{name}")
    return from_sources(**parsed)


def node_ids(ir) -> list:
    """The ids of the IR's nodes, in topological order (the compiler's)."""
    return [node.pipeline_node.node_info.id for node in ir.nodes]


def launch(ir, node_id: str) -> bool:
    """Runs one node of `ir` with TFX's portable launcher (as LocalDagRunner does); False when
    the node is skipped in this run (a partial run), without launching it."""
    from tfx.orchestration import metadata
    from tfx.orchestration.local import runner_utils
    from tfx.orchestration.portable import launcher
    from tfx.orchestration.portable import partial_run_utils
    [node] = [n.pipeline_node for n in ir.nodes if n.pipeline_node.node_info.id == node_id]
    if node.execution_options.HasField("skip"):
        return False
    deployment = runner_utils.extract_local_deployment_config(ir)
    connection = getattr(deployment.metadata_connection_config,
                         deployment.metadata_connection_config.WhichOneof("connection_config"))
    if node.execution_options.run.perform_snapshot:
        # The first node of a partial run: the reused outputs join this run first.
        with metadata.Metadata(connection) as handle:
            partial_run_utils.snapshot(handle, ir)
    fail_once_if_asked(ir.runtime_spec.pipeline_root.field_value.string_value,
                       ir.runtime_spec.pipeline_run_id.field_value.string_value, node_id)
    launcher.Launcher(
        pipeline_node=node, mlmd_connection=metadata.Metadata(connection),
        pipeline_info=ir.pipeline_info, pipeline_runtime_spec=ir.runtime_spec,
        executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
        custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id)).launch()
    return True


def resume_from(ir, node_ids, base_run_id: str) -> None:
    """Marks `ir` for TFX's partial run (as `tabflow run --resume` does): `node_ids` and every
    node downstream of them run; the others' outputs are taken from the MLMD run
    `base_run_id`, and recorded in this run too. For an orchestrator's re-execution of a
    failed run from its failed step."""
    from tfx.orchestration.portable import partial_run_utils
    from tfx.proto.orchestration import pipeline_pb2
    partial_run_utils.mark_pipeline(
        ir, from_nodes=list(node_ids),
        snapshot_settings=pipeline_pb2.SnapshotSettings(
            base_pipeline_run_strategy=pipeline_pb2.SnapshotSettings.BasePipelineRunStrategy(
                base_run_id=base_run_id)))


def retry_delays(retry) -> list:
    """The delay before each retry, in seconds, from the config's retry settings: doubling when
    exponential, at most airflow_max_retry_delay_seconds, as the Airflow DAG's (Prefect takes
    the list; Dagster's retry policy has no cap)."""
    factor = 2 if retry.airflow_exponential_backoff else 1
    cap = max(retry.airflow_max_retry_delay_seconds, retry.airflow_retry_delay_seconds)
    return [min(retry.airflow_retry_delay_seconds * factor ** i, cap)
            for i in range(retry.airflow_retries)] or [0]


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
