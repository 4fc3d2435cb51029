"""What the Dagster and Prefect end-to-end tests share: the settings their served pipeline
reads (the shared runs' small settings, a run per new span, retries configured, alerts to a
receiver, OpenLineage to a file), a server process started on loopback and stopped with its
children, broken data for the gate, and the parity check against the Local runs of
tests/e2e/conftest.py."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

from tabflow.alerts.channels import WEBHOOK_URL_VARIABLE
from tabflow.config import PipelineConfig
from tests.support.pipeline_runs import SMALL, span_csv, write_broken_column

SCENARIOS = ("blessed", "unchanged rerun", "unblessed", "gate failure")
SPAN_POLL_SECONDS = 3
RETRIED_NODE = "Evaluator"


def served_config(root: Path) -> PipelineConfig:
    """The configuration the served pipeline reads from TABFLOW_* variables (served_env)."""
    return PipelineConfig.from_flat(output_root=str(root / "out"), data_root=str(root / "spans"),
                                    **SMALL)


def served_env(root: Path, receiver_url: str, **extra: str) -> Dict[str, str]:
    """The environment of the served pipeline's processes: nothing of this test process's own
    TABFLOW_* / TAXI_* settings."""
    config = served_config(root)
    (root / "spans").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TABFLOW_", "TAXI_"))}
    env.update({f"TABFLOW_{key.upper()}": str(value) for key, value in SMALL.items()})
    env.update(
        TABFLOW_OUTPUT_ROOT=config.output_root, TABFLOW_DATA_ROOT=config.data.data_root,
        TABFLOW_AIRFLOW_TRIGGER="new_span",
        TABFLOW_AIRFLOW_SPAN_POLL_SECONDS=str(SPAN_POLL_SECONDS),
        # Configured, and not used by the gate's verdict; 1 s, doubling.
        TABFLOW_AIRFLOW_RETRIES="2", TABFLOW_AIRFLOW_RETRY_DELAY_SECONDS="1",
        # A transient fault: the Evaluator fails its first attempt in every run; retried.
        TABFLOW_TEST_FAIL_ONCE=RETRIED_NODE,
        TABFLOW_WEBHOOK_FORMAT="json",
        TABFLOW_ALERT_ON="failed stopped not_blessed pushed unchanged",
        TABFLOW_OPENLINEAGE_FILE=str(lineage_file(config)),
        PYTHONUNBUFFERED="1")
    env[WEBHOOK_URL_VARIABLE] = receiver_url
    env.update(extra)
    return env


def lineage_file(config: PipelineConfig) -> Path:
    return Path(config.output_root) / "openlineage.jsonl"


def lineage_events(config: PipelineConfig, run_id: str) -> List[dict]:
    """The OpenLineage events of one MLMD run: the run's own and its components'."""
    with open(lineage_file(config)) as f:
        events = [json.loads(line) for line in f]
    mine = [e for e in events
            if e["run"]["facets"].get("tabflow_execution", {}).get("pipelineRunId") == run_id]
    parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in mine}
    return [e for e in events if e in mine or e["run"]["runId"] in parents]


def newest_committed_span() -> int:
    """The newest span the default dataset ships (the one its Local runs ingest)."""
    from runners.airflow_trigger import newest_span
    return newest_span(PipelineConfig().data.data_root)


def broken_data_root(root: Path, span: int) -> Path:
    """A data root whose span `span` has the slice column broken: the anomaly gate stops it."""
    data = root / "broken"
    (data / f"span-{span}").mkdir(parents=True)
    write_broken_column(span_csv(PipelineConfig(), span),
                        data / f"span-{span}" / "data.csv")
    return data


@contextlib.contextmanager
def server_process(args: List[str], env: Dict[str, str], log: Path, cwd: Path):
    """A server (and its children) for the block, in a session of its own; stopped with
    SIGTERM, then SIGKILL, however the block ends. Its output goes to `log`."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(wait)
                time.sleep(1)  # its children leave the group after it
                os.killpg(proc.pid, 0)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                if sig == signal.SIGKILL:
                    break
                continue


def tabflow(*args: str) -> List[str]:
    return [os.path.join(os.path.dirname(sys.executable), "tabflow"), *args]


def wait_for(check, timeout: float, what: str, interval: float = 2.0, log: Path = None):
    """check()'s first truthy result within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")
        time.sleep(interval)


def local_outcomes(e2e_config, three_runs, strict_run, drifted_run) -> Dict[str, dict]:
    """The parity scenarios' outcomes on Local (tests/support/parity.py), from the shared runs:
    the first run blessed, the third an unchanged rerun, the strict run unblessed, the drifted
    run stopped at the data gate."""
    from tabflow.metadata.store import open_store
    from tests.support.parity import outcome
    store = open_store(e2e_config.store)
    ids = (three_runs[0].run_id, three_runs[2].run_id, strict_run.run_id, drifted_run)
    return {name: outcome(store, e2e_config.pipeline_name, run_id)
            for name, run_id in zip(SCENARIOS, ids)}


def outcomes(config: PipelineConfig, run_ids: Dict[str, str]) -> Dict[str, dict]:
    from tabflow.metadata.store import open_store
    from tests.support.parity import outcome
    store = open_store(config.store)
    return {name: outcome(store, config.pipeline_name, run_id) for name, run_id in run_ids.items()}


def parity_table(local: Dict[str, dict], other: Dict[str, dict]) -> List[Tuple[str, bool]]:
    return [(name, local[name] == other[name]) for name in SCENARIOS]


def check_consumers(config: PipelineConfig, runner: str, run_ids: Dict[str, str],
                    received: List[dict]) -> None:
    """What every runner's runs feed, read back for this orchestrator's scenario runs: MLMD's
    run list (health page, `lineage runs`), the registry (`models`), the alerts sent, the
    Prometheus textfile, the OpenLineage events and the trace of the pushed model."""
    from tabflow.health.collect import collect
    from tabflow.lineage.trace import trace
    from tabflow.metadata.runs import list_runs
    from tabflow.metadata.store import open_store
    from tabflow.registry import catalog
    from tests.support.openlineage_check import check_run_event
    store = open_store(config.store)
    status = {r.run_id: r.status for r in list_runs(store, config.pipeline_name)}
    assert {name: status[run_id] for name, run_id in run_ids.items()} == {
        "blessed": "COMPLETE", "unchanged rerun": "COMPLETE", "unblessed": "COMPLETE",
        "gate failure": "FAILED"}
    health = {r["run_id"]: r for r in collect(store, config.pipeline_name,
                                              config.serving_dir)["runs"]}
    assert {health[run_id]["runner"] for run_id in run_ids.values()} == {runner}
    assert health[run_ids["gate failure"]]["failed_at"] == ["AnomalyGate"]
    [version] = catalog.versions(store, config.pipeline_name, config.serving_dir)
    assert version.run_id == run_ids["blessed"] and version.blessed
    kinds = {post["body"]["run_id"]: post["body"]["kind"] for post in received}
    assert [kinds.get(run_ids[name]) for name in SCENARIOS] == \
        ["pushed", "unchanged", "not_blessed", "stopped"]
    # The textfile holds the newest run's figures, whichever of this orchestrator's that is.
    metrics = Path(config.metrics.metrics_textfile).read_text()
    assert f'run_id="{runner}-' in metrics and f'runner="{runner}"' in metrics
    for name, run_id in run_ids.items():
        events = lineage_events(config, run_id)
        for event in events:
            check_run_event(event)
        assert events[-1]["eventType"] == ("FAIL" if name == "gate failure" else "COMPLETE")
        assert {e["run"]["facets"]["tabflow_execution"]["runner"] for e in events
                if "tabflow_execution" in e["run"]["facets"]} == {runner}
    traced = trace(store, "latest-pushed")
    assert traced["push"]["run"] == run_ids["blessed"]
    assert traced["data"]["span"] == newest_committed_span()
