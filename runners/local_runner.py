"""LocalDagRunner: the embedded default, with an SQLite MLMD store under the output folder.

The runner chooses the metadata connection (the config's store, created if missing) and the
engine; the same function drives BeamDagRunner (runners/beam_runner.py): both are IR-based
runners.
"""
import contextlib
import datetime
import logging
import os
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import List, Optional

from tabflow.config import PipelineConfig
from tabflow.redaction import redact_text
from runners.progress import ProgressHandler, logs_to_file


class PipelineFailed(RuntimeError):
    """A run that did not complete: `node_id` is the component MLMD records as failed (None
    when no component execution failed: the pipeline could not be built or orchestrated)."""

    def __init__(self, run_id: str, node_id: Optional[str], cause: BaseException):
        where = f"component {node_id}" if node_id else "pipeline set-up"
        super().__init__(redact_text(f"run {run_id}: {where} failed: {cause}"))
        self.run_id = run_id
        self.node_id = node_id
        self.cause = cause


class UnusableSetting(ValueError):
    """A setting that names somewhere the run cannot write: one line naming the setting."""


def _check_writable_folder(setting: str, folder: str) -> None:
    if "://" in folder:
        return  # remote storage: TFX reports its own errors there
    try:
        os.makedirs(folder, exist_ok=True)
        # Permission bits say nothing when running as root: write a file to find out.
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise UnusableSetting(f"config setting {setting}: cannot write to {folder}: "
                              f"{e.strerror or e}") from None


def check_outputs(config: PipelineConfig) -> None:
    """Before anything runs: the output root, the log folder and the store are usable.
    UnusableSetting or StoreError, one line each, naming the setting."""
    from tabflow.metadata.errors import StoreError
    from tabflow.metadata.store import open_store
    _check_writable_folder("output_root", config.output_root)
    _check_writable_folder("log_file", os.path.dirname(config.log_file))
    setting = "mysql_host" if config.store.mysql_host else "metadata_path"
    if not config.store.mysql_host:
        _check_writable_folder(setting, os.path.dirname(config.store.metadata_path))
    try:
        open_store(config.store, readonly=False)
    except StoreError as e:
        raise StoreError(f"{e} (setting {setting})") from None


@dataclass
class RunResult:
    wall_seconds: float
    run_id: Optional[str]
    executions: list = field(default_factory=list)
    pushed: List[str] = field(default_factory=list)


def metadata_connection(config: PipelineConfig):
    """The store section's connection for a writer; an SQLite store's folder is created."""
    from tabflow.metadata.store import connection_config
    if not config.store.mysql_host:
        os.makedirs(os.path.dirname(config.store.metadata_path), exist_ok=True)
    return connection_config(config.store, create=True)


def summarize(config: PipelineConfig, run_id: str, wall: float) -> RunResult:
    from tabflow.metadata import runs
    from tabflow.metadata.errors import NotFound
    from tabflow.metadata.store import open_store
    try:
        records = runs.run_executions(open_store(config.store), config.pipeline_name, run_id)
    except NotFound:
        return RunResult(wall, run_id)
    return RunResult(wall, run_id, records, runs.pushed_destinations(records))


def failed_node(config: PipelineConfig, run_id: str) -> Optional[str]:
    """The node of the run's execution that MLMD records as FAILED; else one left unfinished
    (the process died inside it); None when the run never reached a component.

    Read from the store, not from TFX's log wording, so a change of log text cannot turn a
    component failure into a set-up failure.
    """
    from tabflow.metadata import runs
    from tabflow.metadata.errors import NotFound, StoreError
    from tabflow.metadata.store import open_store
    try:
        records = runs.run_executions(open_store(config.store), config.pipeline_name, run_id)
    except (NotFound, StoreError):
        return None
    for wanted in (("FAILED",), ("RUNNING", "NEW", "UNKNOWN", "CANCELED")):
        for record in records:
            if record.state in wanted:
                return record.node_id
    return None


# What `run --resume` restarts: a run that stopped part-way (its process gone).
RESUMABLE = ("FAILED", "ABANDONED")


def resume_point(config: PipelineConfig, run_id: str) -> str:
    """The node a resumed run starts from: the run's failed or unfinished node.

    Raises NotFound for an unknown run id and ValueError (one line for the user) for a run
    this runner cannot resume: an Airflow run, or one that is not FAILED or ABANDONED.
    """
    from tabflow.metadata import runs
    from tabflow.metadata.store import open_store
    info = runs.resolve_run(open_store(config.store), config.pipeline_name, run_id)
    if info.runner not in ("local", "beam"):
        raise ValueError(f"run {info.run_id} ran on {info.runner}: only Local and Beam runs "
                         "resume here (resume an Airflow run from Airflow)")
    if info.status not in RESUMABLE:
        raise ValueError(f"run {info.run_id} is {info.status}: only a FAILED or ABANDONED "
                         "run can be resumed")
    node_id = failed_node(config, info.run_id)
    if node_id is None:
        raise ValueError(f"run {info.run_id} stopped before any component ran: "
                         "start a new run instead")
    return node_id


def _record_process(ir, connection, run_id: str, lease_seconds: float) -> List[str]:
    """Creates the run's contexts, as TFX does at the first node, and records this process's
    identity (host, boot id, pid namespace, pid, start time) and a lease on the run context, so
    readers can tell a run whose process was killed from a live one. TFX finds the run context by name and reuses it.

    Then records earlier runs whose process died part-way as abandoned; returns their ids."""
    from tabflow.compat.portable_run import run_contexts_prepared
    from tabflow.metadata import runs
    from tabflow.metadata.graph import set_custom
    from tabflow import contract
    with run_contexts_prepared(connection, ir,
                               (contract.PIPELINE_CONTEXT, contract.IR_RUN_CONTEXT)) as store:
        run_context = store.get_context_by_type_and_name(contract.IR_RUN_CONTEXT, run_id)
        for name, value in runs.this_process().items():
            set_custom(run_context, name, value)
        store.put_contexts([run_context])
        runs.renew_run_lease(store, run_id, lease_seconds)
        return runs.record_abandoned(store, ir.pipeline_info.id, run_id)


def _record_finished(connection, run_id: str) -> None:
    """Marks the run as ended by its own process; a failure to mark is only logged: the run's
    outcome matters more (readers then judge it by its process, as for older runs)."""
    if connection is None:  # set-up failed before the run existed
        return
    try:
        from tabflow.compat.portable_run import metadata_store
        from tabflow.metadata import runs
        with metadata_store(connection) as store:
            runs.record_finished(store, run_id)
    except Exception:  # noqa: BLE001
        logging.getLogger(__name__).exception("could not mark run %s finished", run_id)


def new_run_id(runner_name: str) -> str:
    """Run ids name their runner, so MLMD's pipeline_run contexts say which runner made them."""
    return f"{runner_name}-{datetime.datetime.now().isoformat()}"


def run(config: PipelineConfig, engine=None, runner_name: str = "local",
        resume: Optional[str] = None, wait_seconds: float = 0.0) -> RunResult:
    """Run create_pipeline(config) on LocalDagRunner, or on another IR-based runner (engine).

    One run at a time per pipeline and store (tabflow/metadata/run_lock.py): while another holds the
    lock, wait up to wait_seconds, then raise run_lock.LockBusy naming it.
    resume: a FAILED or ABANDONED run's id; the new run starts from that run's failed node
    (resume_point) and reuses the outputs of every node upstream of it."""
    from tabflow.metadata import run_lock
    from tabflow.metadata import runs
    resume_node = resume_point(config, resume) if resume is not None else None
    check_outputs(config)
    run_id = new_run_id(runner_name)
    with run_lock.held(config.store, config.pipeline_name, f"run {run_id}", wait_seconds,
                       on_renew=lambda store: runs.renew_run_lease(
                           store, run_id, run_lock.LEASE_SECONDS)):
        return _run_locked(config, engine, runner_name, run_id, resume, resume_node)


@contextlib.contextmanager
def prepared_run(config: PipelineConfig, runner_name: str, run_id: str, terminal):
    """The run's IR, compiled with its run id, its contexts and process recorded in MLMD;
    on leaving, the run is marked finished (also when it failed: PipelineFailed is raised,
    naming the component MLMD records as failed). For local_runner.run and for orchestrators
    that drive the nodes themselves (runners/dagster_defs.py)."""
    from tabflow.metadata import run_lock
    import modules  # noqa: F401  sets Keras 2 before TensorFlow loads
    from pipeline.inputs import gather
    # A bad dataset spec or a missing span is the user's to fix: one line, no run.
    inputs = gather(config, runner_name)
    handler = ProgressHandler(terminal)
    root = logging.getLogger()
    root.addHandler(handler)
    connection = None
    try:
        from pipeline.pipeline import create_pipeline
        from tabflow.compat.portable_run import compile_with_run_id
        connection = metadata_connection(config)
        pipeline = create_pipeline(config, inputs, metadata_connection=connection,
                                   runner=runner_name)
        # Bound here, the run id is known before the run; the runner keeps it.
        ir = compile_with_run_id(pipeline, run_id)
        for abandoned in _record_process(ir, connection, run_id, run_lock.LEASE_SECONDS):
            terminal.write(f"  recorded run {abandoned} as ABANDONED (its process is gone; "
                           f"`run --resume {abandoned}` restarts it)\n")
        yield ir
    except Exception as e:
        # fd 2 is the log file here, which no secret may reach.
        sys.stderr.write(redact_text(traceback.format_exc()))
        node_id = failed_node(config, run_id)
        handler.mark_failed(node_id)
        _record_finished(connection, run_id)
        raise PipelineFailed(run_id, node_id, e) from e
    finally:
        root.removeHandler(handler)
    # Not in `finally`: a run stopped by Ctrl-C is left for the next run to record as
    # abandoned, with its unfinished executions CANCELED.
    _record_finished(connection, run_id)


def _run_locked(config, engine, runner_name, run_id, resume, resume_node) -> RunResult:
    start = time.monotonic()
    with logs_to_file(config.log_file) as terminal:
        with prepared_run(config, runner_name, run_id, terminal) as ir:
            from tfx.orchestration.local.local_dag_runner import LocalDagRunner
            from tabflow.compat.portable_run import partial_run_options
            engine = engine or LocalDagRunner()
            if resume_node is None:
                engine.run_with_ir(ir)
            else:
                engine.run_with_ir(ir, run_options=partial_run_options(resume_node, resume))
    return summarize(config, run_id, time.monotonic() - start)
