"""End-to-end: the pipeline under Dagster's own daemon and webserver (`tabflow serve dagster`,
which runs `dagster dev` on runners/dagster_defs.py), with a Dagster instance on SQLite in a
temporary DAGSTER_HOME, on loopback. The test talks to Dagster only through the webserver's
GraphQL API, the one its UI uses.

The parity scenarios, in a store of their own, in order:
1. blessed: a span lands in the empty data root; the `new_span` sensor requests a run, which
   executes every component and pushes;
2. unchanged rerun: launched from the API with nothing changed: every component comes from the
   cache and nothing new is pushed; the sensor requested no second run for the same span;
3. unblessed: launched with the run config setting threshold 0.9999: the Evaluator runs again
   and does not bless; the Pusher does not run;
4. gate failure: launched with a data root whose span has the slice column broken: the
   AnomalyGate op fails once (retries are configured and not used) and nothing after it runs.
Each outcome (status, per-component outcome, published artifacts, push) equals the Local run's
of the same scenario (tests/e2e/conftest.py), which tests/e2e/test_airflow.py compares with Beam
and Airflow.
"""
import json
import urllib.request

import pytest

from tabflow.metadata.runs import list_runs
from tabflow.metadata.store import open_store
from tests.support import orchestrators as O
from tests.support.default_dataset import facts
from tests.support.pipeline_runs import add_span
from tests.support.receivers import free_port, http_receiver

pytestmark = pytest.mark.e2e

RUN_FIELDS = "runId status tags { key value }"


class DagsterUI:
    """The webserver's GraphQL API."""

    def __init__(self, url: str, log):
        self.url, self.log = url, log
        self.selector = None

    def query(self, text: str, **variables) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql", data=json.dumps({"query": text, "variables": variables})
            .encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        assert "errors" not in body, body["errors"]
        return body["data"]

    def loaded(self):
        """The job's selector once the code location has loaded, else None."""
        try:
            data = self.query("""{ workspaceOrError { ... on Workspace { locationEntries {
                name locationOrLoadError { __typename ... on RepositoryLocation {
                repositories { name jobs { name } } } ... on PythonError { message } } } } } }""")
        except OSError:
            return None  # not listening yet
        for entry in data["workspaceOrError"]["locationEntries"]:
            location = entry["locationOrLoadError"]
            if location is None:
                return None
            assert location["__typename"] == "RepositoryLocation", location
            [repository] = location["repositories"]
            [job] = repository["jobs"]
            self.selector = {"repositoryLocationName": entry["name"],
                             "repositoryName": repository["name"], "jobName": job["name"]}
            return self.selector
        return None

    def runs(self) -> list:
        data = self.query("{ runsOrError { ... on Runs { results { %s } } } }" % RUN_FIELDS)
        return data["runsOrError"]["results"]

    def run(self, run_id: str) -> dict:
        data = self.query("query($id: ID!) { runOrError(runId: $id) { ... on Run { %s } } }"
                          % RUN_FIELDS, id=run_id)
        return data["runOrError"]

    def launch(self, settings=None) -> str:
        params = {"selector": self.selector, "runConfigData": {"resources": {
            "tabflow_run": {"config": {"settings": settings or {}}}}}}
        data = self.query("""mutation($params: ExecutionParams!) { launchRun(executionParams:
            $params) { __typename ... on LaunchRunSuccess { run { runId } }
            ... on PythonError { message } ... on RunConfigValidationInvalid { errors {
            message } } } }""", params=params)["launchRun"]
        assert data["__typename"] == "LaunchRunSuccess", data
        return data["run"]["runId"]

    def reexecute_from_failure(self, run_id: str) -> str:
        data = self.query("""mutation($p: ReexecutionParams!) { launchRunReexecution(
            reexecutionParams: $p) { __typename ... on LaunchRunSuccess { run { runId } }
            ... on PythonError { message } } }""",
                          p={"parentRunId": run_id, "strategy": "FROM_FAILURE"})
        data = data["launchRunReexecution"]
        assert data["__typename"] == "LaunchRunSuccess", data
        return data["run"]["runId"]

    def finished(self, run_id: str, timeout: float = 900) -> dict:
        def done():
            run = self.run(run_id)
            return run if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None
        return O.wait_for(done, timeout, f"Dagster run {run_id}", log=self.log)

    def events(self, run_id: str) -> list:
        data = self.query("""query($id: ID!) { logsForRun(runId: $id, limit: 100000) {
            ... on EventConnection { events { __typename ... on MessageEvent { message
            stepKey level } ... on ExecutionStepFailureEvent { failureMetadata { description }
            } } } } }""", id=run_id)
        return data["logsForRun"]["events"]

    def sensor_ticks(self) -> list:
        selector = {k: self.selector[k] for k in ("repositoryLocationName", "repositoryName")}
        data = self.query("""query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
            ... on Sensor { sensorState { status ticks(limit: 50) { status skipReason runIds } } }
            } }""", s={**selector, "sensorName": "new_span"})
        return data["sensorOrError"]["sensorState"]["ticks"]


@pytest.fixture(scope="module")
def receiver():
    with http_receiver() as server:
        yield server


@pytest.fixture(scope="module")
def dagster(tmp_path_factory, receiver):
    root = tmp_path_factory.mktemp("dagster")
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = free_port()
    env = O.served_env(root, receiver.url, DAGSTER_HOME=str(home))
    log = root / "serve.log"
    with O.server_process(O.tabflow("serve", "dagster", "--port", str(port)), env, log, root):
        ui = DagsterUI(f"http://127.0.0.1:{port}", log)
        O.wait_for(ui.loaded, 300, "Dagster's code location", log=log)
        yield root, ui


@pytest.fixture(scope="module")
def scenarios(dagster):
    """{scenario: (Dagster run, its MLMD run id)}, run in order."""
    root, ui = dagster
    span = O.newest_committed_span()
    add_span(root / "spans", span)
    # The sensor's run for the new span.
    sensor_run = O.wait_for(lambda: [r for r in ui.runs()], 180, "the sensor's run", log=ui.log)
    runs = {"blessed": ui.finished(sensor_run[0]["runId"])}
    runs["unchanged rerun"] = ui.finished(ui.launch())
    runs["unblessed"] = ui.finished(ui.launch({"threshold": "0.9999"}))
    broken = O.broken_data_root(root, span)
    runs["gate failure"] = ui.finished(ui.launch({"data_root": str(broken)}))
    return {name: (run, _tags(run)["tabflow/run_id"]) for name, run in runs.items()}


@pytest.fixture(scope="module")
def reexecuted(dagster, scenarios):
    """The gate failure's run re-executed from its failure (the data still broken)."""
    _, ui = dagster
    parent, _ = scenarios["gate failure"]
    run = ui.finished(ui.reexecute_from_failure(parent["runId"]))
    return run, _tags(run)["tabflow/run_id"]


def _tags(run) -> dict:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def test_the_sensor_runs_a_new_span_once(dagster, scenarios):
    root, ui = dagster
    run, _ = scenarios["blessed"]
    tags = _tags(run)
    assert tags["dagster/sensor_name"] == "new_span"
    assert tags["tabflow/span"] == str(O.newest_committed_span())
    # Ticks after the run skip: MLMD says the span is ingested.
    sensor_runs = [r for r in ui.runs() if _tags(r).get("dagster/sensor_name")]
    assert [r["runId"] for r in sensor_runs] == [run["runId"]]
    ticks = ui.sensor_ticks()
    assert any(t["status"] == "SKIPPED" and "no span newer" in (t["skipReason"] or "")
               for t in ticks), ticks


def test_run_status_and_mlmd_run_ids_are_in_dagster(scenarios):
    statuses = {name: run["status"] for name, (run, _) in scenarios.items()}
    assert statuses == {"blessed": "SUCCESS", "unchanged rerun": "SUCCESS",
                        "unblessed": "SUCCESS", "gate failure": "FAILURE"}
    ids = [run_id for _, run_id in scenarios.values()]
    assert all(run_id.startswith("dagster-") for run_id in ids) and len(set(ids)) == 4


def test_each_op_logs_its_node_in_dagster(dagster, scenarios):
    """TFX's log records of a node are its op's log lines (redacted, Beam's INFO left out)."""
    _, ui = dagster
    run, _ = scenarios["blessed"]
    trainer = [e["message"] for e in ui.events(run["runId"])
               if e.get("stepKey") == "Trainer" and e["__typename"] == "LogMessageEvent"]
    assert any(message.startswith("absl: ") for message in trainer), trainer[:20]


def test_a_transient_fault_is_retried_with_backoff(dagster, scenarios):
    """The Evaluator fails its first attempt in every run (an injected transient fault): the
    retry policy runs it again and the run succeeds."""
    _, ui = dagster
    run, _ = scenarios["blessed"]
    kinds = [e["__typename"] for e in ui.events(run["runId"])
             if e.get("stepKey") == O.RETRIED_NODE]
    assert kinds.count("ExecutionStepUpForRetryEvent") == 1, kinds
    assert kinds.count("ExecutionStepRestartEvent") == 1
    assert kinds[-1] == "ExecutionStepSuccessEvent"


def test_a_gate_verdict_is_not_retried(dagster, scenarios):
    _, ui = dagster
    run, _ = scenarios["gate failure"]
    events = ui.events(run["runId"])
    gate = [e for e in events if e.get("stepKey") == "AnomalyGate"]
    kinds = [e["__typename"] for e in gate]
    assert "ExecutionStepFailureEvent" in kinds, kinds
    assert "ExecutionStepUpForRetryEvent" not in kinds and "ExecutionStepRestartEvent" not in kinds
    assert not any(e.get("stepKey") == "Trainer" and e["__typename"] == "ExecutionStepStartEvent"
                   for e in events)
    # The gate's verdict, naming the broken column, is the failure's description in the UI.
    [failure] = [e for e in gate if e["__typename"] == "ExecutionStepFailureEvent"]
    assert facts().slice_column in failure["failureMetadata"]["description"], failure


def test_the_same_outcomes_as_local(scenarios, dagster, e2e_config, three_runs, strict_run,
                                    drifted_run):
    """Blessed, unchanged rerun, unblessed and stopped at the data gate: the same run status,
    component outcomes, published artifacts and push as on Local (and so as on Beam and
    Airflow: tests/e2e/test_airflow.py)."""
    root, _ = dagster
    local = O.local_outcomes(e2e_config, three_runs, strict_run, drifted_run)
    mine = O.outcomes(O.served_config(root), {name: run_id for name, (_, run_id) in
                                              scenarios.items()})
    for name in O.SCENARIOS:
        assert mine[name] == local[name], name
    assert mine["blessed"]["pushed"] and not mine["unblessed"]["pushed"]
    assert mine["gate failure"]["components"]["AnomalyGate"] == "failed"


def test_runs_are_recorded_reported_and_traced_as_on_the_others(dagster, scenarios, receiver):
    """The health page's runs, `models`, alerts, metrics, OpenLineage and the trace of the
    pushed model read this orchestrator's runs as they read the others'."""
    root = dagster[0]
    O.check_consumers(O.served_config(root), "dagster",
                      {name: run_id for name, (_, run_id) in scenarios.items()},
                      receiver.received)


def test_a_reexecution_from_failure_is_a_tfx_partial_run(dagster, scenarios, reexecuted):
    """Dagster's "re-execute from failure" runs the failed op and what follows it, on the
    parent run's upstream outputs (TFX's partial run): the gate sees the same broken data and
    stops it again; nothing upstream executes again."""
    root, ui = dagster
    run, run_id = reexecuted
    assert run["status"] == "FAILURE"
    started = {e["stepKey"] for e in ui.events(run["runId"])
               if e["__typename"] == "ExecutionStepStartEvent"}
    assert "AnomalyGate" in started and "CsvExampleGen" not in started, started
    config = O.served_config(root)
    store = open_store(config.store)
    [info] = [r for r in list_runs(store, config.pipeline_name) if r.run_id == run_id]
    assert info.status == "FAILED" and info.components["AnomalyGate"] == "FAILED"
    events = ui.events(run["runId"])
    [failure] = [e for e in events if e["__typename"] == "ExecutionStepFailureEvent"]
    assert facts().slice_column in failure["failureMetadata"]["description"], failure
