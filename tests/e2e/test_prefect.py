"""End-to-end: the pipeline as Prefect deployments (`tabflow serve prefect`) served to a local
Prefect server (`prefect server start`, SQLite in a temporary PREFECT_HOME) on loopback. The
test talks to Prefect only through the server's REST API, the one its UI uses.

The parity scenarios, in a store of their own, in order:
1. blessed: a span lands in the empty data root; the serving process's span watcher starts a
   run of the pipeline's deployment, which executes every component and pushes;
2. unchanged rerun: a run of the deployment with nothing changed: every component comes from
   the cache and nothing new is pushed; the watcher started no second run for the same span;
3. unblessed: a run with the parameter settings {threshold: 0.9999}: the Evaluator runs again
   and does not bless; the Pusher does not run;
4. gate failure: a run with a data root whose span has the slice column broken: the AnomalyGate
   task fails once (retries are configured and not used) and nothing after it runs.
Each outcome equals the Local run's of the same scenario (tests/e2e/conftest.py), which
tests/e2e/test_airflow.py compares with Beam and Airflow.
"""
import json
import os
import sys
import urllib.error
import urllib.request

import pytest

from tests.support import orchestrators as O
from tests.support.default_dataset import facts
from tests.support.pipeline_runs import add_span
from tests.support.receivers import free_port, http_receiver

pytestmark = pytest.mark.e2e


class PrefectAPI:
    def __init__(self, url: str, log):
        self.url, self.log = url, log

    def call(self, method: str, path: str, body=None):
        request = urllib.request.Request(
            f"{self.url}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or "null")

    def healthy(self) -> bool:
        try:
            return self.call("GET", "/health") is True
        except OSError:
            return False

    def deployment(self, flow: str, name: str):
        try:
            return self.call("GET", f"/deployments/name/{flow}/{name}")
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def flow_runs(self, deployment_id: str) -> list:
        return self.call("POST", "/flow_runs/filter", {
            "deployments": {"id": {"any_": [deployment_id]}}, "sort": "EXPECTED_START_TIME_ASC"})

    def start(self, deployment_id: str, settings=None) -> str:
        run = self.call("POST", f"/deployments/{deployment_id}/create_flow_run",
                        {"parameters": {"settings": settings} if settings else {}})
        return run["id"]

    def finished(self, flow_run_id: str, timeout: float = 900) -> dict:
        def done():
            run = self.call("GET", f"/flow_runs/{flow_run_id}")
            return run if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED",
                                                    "CANCELLED") else None
        return O.wait_for(done, timeout, f"Prefect flow run {flow_run_id}", log=self.log)

    def task_runs(self, flow_run_id: str) -> list:
        return self.call("POST", "/task_runs/filter",
                         {"flow_runs": {"id": {"any_": [flow_run_id]}}})

    def logs(self, task_run_id: str) -> list:
        return self.call("POST", "/logs/filter",
                         {"logs": {"task_run_id": {"any_": [task_run_id]}}, "limit": 200})


@pytest.fixture(scope="module")
def receiver():
    with http_receiver() as server:
        yield server


@pytest.fixture(scope="module")
def prefect(tmp_path_factory, receiver):
    root = tmp_path_factory.mktemp("prefect")
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = O.served_env(root, receiver.url, PREFECT_HOME=str(root / "prefect_home"),
                       PREFECT_API_URL=api, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    prefect_cli = os.path.join(os.path.dirname(sys.executable), "prefect")
    server_log, serve_log = root / "server.log", root / "serve.log"
    with O.server_process([prefect_cli, "server", "start", "--host", "127.0.0.1", "--port",
                           str(port)], env, server_log, root):
        client = PrefectAPI(api, server_log)
        O.wait_for(client.healthy, 120, "the Prefect server", log=server_log)
        with O.server_process(O.tabflow("serve", "prefect"), env, serve_log, root):
            client.log = serve_log
            name = O.served_config(root).pipeline_name
            pipeline = O.wait_for(lambda: client.deployment("tabflow", name), 300,
                                  "the pipeline's deployment", log=serve_log)
            yield root, client, pipeline


@pytest.fixture(scope="module")
def scenarios(prefect):
    """{scenario: (flow run, its MLMD run id)}, run in order."""
    root, api, pipeline = prefect
    add_span(root / "spans", O.newest_committed_span())
    first = O.wait_for(lambda: api.flow_runs(pipeline["id"]), 180, "the watcher's run",
                       log=api.log)
    runs = {"blessed": api.finished(first[0]["id"])}
    runs["unchanged rerun"] = api.finished(api.start(pipeline["id"]))
    runs["unblessed"] = api.finished(api.start(pipeline["id"], {"threshold": "0.9999"}))
    broken = O.broken_data_root(root, O.newest_committed_span())
    runs["gate failure"] = api.finished(api.start(pipeline["id"], {"data_root": str(broken)}))
    return {name: (run, _mlmd_run_id(run)) for name, run in runs.items()}


def _mlmd_run_id(flow_run) -> str:
    [tag] = [t for t in flow_run["tags"] if t.startswith("tabflow_run_id:")]
    return tag.split(":", 1)[1]


def test_the_watcher_starts_one_run_per_new_span(prefect, scenarios):
    root, api, pipeline = prefect
    run, _ = scenarios["blessed"]
    span = O.newest_committed_span()
    assert f"span:{span}" in run["tags"] and run["idempotency_key"] == f"span-{span}"
    # The watcher kept looking through the other scenarios and started no other run.
    started_by_watcher = [r for r in api.flow_runs(pipeline["id"])
                          if any(t.startswith("span:") for t in r["tags"])]
    assert [r["id"] for r in started_by_watcher] == [run["id"]]
    log = (root / "serve.log").read_text()
    assert log.count(f"span {span}: flow run {run['name']}") == 1


def test_flow_run_states_and_mlmd_run_ids_are_in_prefect(scenarios):
    states = {name: run["state"]["type"] for name, (run, _) in scenarios.items()}
    assert states == {"blessed": "COMPLETED", "unchanged rerun": "COMPLETED",
                      "unblessed": "COMPLETED", "gate failure": "FAILED"}
    ids = [run_id for _, run_id in scenarios.values()]
    assert all(run_id.startswith("prefect-") for run_id in ids) and len(set(ids)) == 4


def test_each_task_logs_its_node_in_prefect(prefect, scenarios):
    _, api, _ = prefect
    run, _ = scenarios["blessed"]
    [trainer] = [t for t in api.task_runs(run["id"]) if t["name"] == "Trainer"]
    messages = [log["message"] for log in api.logs(trainer["id"])]
    assert any(message.startswith("absl: ") for message in messages), messages[:20]


def test_a_transient_fault_is_retried_with_backoff(prefect, scenarios):
    """The Evaluator fails its first attempt in every run (an injected transient fault): the
    task's retry runs it again and the flow run completes."""
    _, api, _ = prefect
    run, _ = scenarios["blessed"]
    [evaluator] = [t for t in api.task_runs(run["id"]) if t["name"] == O.RETRIED_NODE]
    assert evaluator["state"]["type"] == "COMPLETED" and evaluator["run_count"] == 2


def test_a_gate_verdict_is_not_retried(prefect, scenarios):
    _, api, _ = prefect
    run, _ = scenarios["gate failure"]
    tasks = {t["name"]: t for t in api.task_runs(run["id"])}
    gate = tasks["AnomalyGate"]
    assert gate["state"]["type"] == "FAILED" and gate["run_count"] == 1
    assert gate["empirical_policy"]["retries"] == 2  # configured, not used
    assert facts().slice_column in gate["state"]["message"]
    assert "Trainer" not in tasks or tasks["Trainer"]["state"]["type"] != "COMPLETED"


def test_the_same_outcomes_as_local(scenarios, prefect, e2e_config, three_runs, strict_run,
                                    drifted_run):
    """Blessed, unchanged rerun, unblessed and stopped at the data gate: the same run status,
    component outcomes, published artifacts and push as on Local (and so as on Beam and
    Airflow: tests/e2e/test_airflow.py)."""
    root = prefect[0]
    local = O.local_outcomes(e2e_config, three_runs, strict_run, drifted_run)
    mine = O.outcomes(O.served_config(root), {name: run_id for name, (_, run_id) in
                                              scenarios.items()})
    for name in O.SCENARIOS:
        assert mine[name] == local[name], name
    assert mine["blessed"]["pushed"] and not mine["unblessed"]["pushed"]


def test_runs_are_recorded_reported_and_traced_as_on_the_others(prefect, scenarios, receiver):
    """The health page's runs, `models`, alerts, metrics, OpenLineage and the trace of the
    pushed model read this orchestrator's runs as they read the others'."""
    root = prefect[0]
    O.check_consumers(O.served_config(root), "prefect",
                      {name: run_id for name, (_, run_id) in scenarios.items()},
                      receiver.received)