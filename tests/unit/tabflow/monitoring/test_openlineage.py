"""OpenLineage events built from MLMD records (a real SQLite store written the way the runners
write it), their checks against the spec, and delivery to a file and to an HTTP endpoint on
loopback."""
import json

import pytest

from tabflow.monitoring import openlineage as ol
from tests.support.mlmd_records import S, sqlite_writer
from tests.support.openlineage_check import check_run_event
from tests.support.receivers import http_receiver


@pytest.fixture
def writer(tmp_path):
    return sqlite_writer(tmp_path / "mlmd.sqlite")


def _events(writer, run="latest", **kwargs):
    return [ol.to_dict(e) for e in ol.run_events(writer.store, "taxi", run, "ns", **kwargs)]


def test_a_completed_run_has_start_and_complete_per_execution(writer):
    writer.ir_run("r1", {"CsvExampleGen": S.COMPLETE, "Trainer": S.COMPLETE,
                         "Pusher": S.CACHED}, pushed=True, span=3)
    events = _events(writer)
    for event in events:
        check_run_event(event)
    kinds = [(e["job"]["name"], e["eventType"]) for e in events]
    assert kinds == [("taxi", "START"),
                     ("taxi.CsvExampleGen", "START"), ("taxi.CsvExampleGen", "COMPLETE"),
                     ("taxi.Trainer", "START"), ("taxi.Trainer", "COMPLETE"),
                     ("taxi.Pusher", "START"), ("taxi.Pusher", "COMPLETE"),
                     ("taxi", "COMPLETE")]
    parent = events[0]["run"]["runId"]
    for event in events[1:-1]:
        assert event["run"]["facets"]["parent"]["run"]["runId"] == parent
        job = event["run"]["facets"]["parent"]["job"]
        assert (job["namespace"], job["name"]) == ("ns", "taxi")
    # START and end of one execution share the run id; executions differ.
    ids = [e["run"]["runId"] for e in events[1:-1]]
    assert ids[0] == ids[1] and len(set(ids)) == 3
    [examples] = events[2]["outputs"]
    assert (examples["namespace"], examples["name"]) == ("file", "/e/3")
    assert examples["facets"]["tabflow_artifact"]["span"] == 3
    assert events[6]["run"]["facets"]["tabflow_execution"]["state"] == "CACHED"
    [pushed] = events[6]["outputs"]
    assert pushed["facets"]["tabflow_push"]["pushed"] is True


def test_run_ids_are_stable_across_exports(writer):
    writer.ir_run("r1", {"CsvExampleGen": S.COMPLETE}, span=1)
    first, second = _events(writer), _events(writer)
    assert [e["run"]["runId"] for e in first] == [e["run"]["runId"] for e in second]


def test_a_failed_execution_fails_and_so_does_the_run(writer):
    writer.ir_run("r1", {"CsvExampleGen": S.COMPLETE, "AnomalyGate": S.FAILED}, span=1)
    events = _events(writer)
    for event in events:
        check_run_event(event)
    gate_end = [e for e in events if e["job"]["name"] == "taxi.AnomalyGate"][-1]
    assert gate_end["eventType"] == "FAIL"
    assert gate_end["run"]["facets"]["errorMessage"]["message"] == "AnomalyGate failed"
    assert events[-1]["eventType"] == "FAIL" and events[-1]["job"]["name"] == "taxi"
    assert "AnomalyGate" in events[-1]["run"]["facets"]["errorMessage"]["message"]


def test_a_task_the_orchestrator_saw_fail_fails_though_mlmd_says_running(writer):
    """Airflow's legacy launcher leaves a failed task's execution RUNNING in MLMD."""
    writer.airflow_run("manual__1", {"CsvExampleGen": S.COMPLETE, "Trainer": S.RUNNING})
    events = _events(writer, error="OOM killed", failed_component="Trainer")
    trainer = [e for e in events if e["job"]["name"] == "taxi.Trainer"]
    assert [e["eventType"] for e in trainer] == ["START", "FAIL"]
    assert trainer[-1]["run"]["facets"]["errorMessage"]["message"] == "OOM killed"
    assert events[-1]["eventType"] == "FAIL"


def test_a_running_run_has_no_end_event(writer):
    writer.ir_run("r1", {"CsvExampleGen": S.COMPLETE, "Trainer": S.RUNNING}, span=1)
    events = _events(writer)
    assert [e["eventType"] for e in events if e["job"]["name"] == "taxi.Trainer"] == ["START"]
    assert events[-1]["job"]["name"] != "taxi"


@pytest.mark.parametrize("uri, expected", [
    ("/out/pipeline_root/CsvExampleGen/examples/5", ("file", "/out/pipeline_root/CsvExampleGen/examples/5")),
    ("gs://bucket/root/Trainer/model/7", ("gs://bucket", "/root/Trainer/model/7")),
    ("s3://b/k", ("s3://b", "/k")),
    ("file:///tmp/x", ("file", "/tmp/x")),
])
def test_dataset_names_follow_openlineage_naming(uri, expected):
    assert ol.dataset_name(uri) == expected


def test_delivery_to_a_file_and_an_http_endpoint(writer, tmp_path):
    writer.ir_run("r1", {"CsvExampleGen": S.COMPLETE}, span=1)
    events = ol.run_events(writer.store, "taxi", "latest", "ns")
    path = tmp_path / "lineage" / "events.jsonl"
    with http_receiver(fail_first=1) as server:
        results = ol.deliver(events, str(path), server.url.rsplit("/", 1)[0],
                             environ={ol.API_KEY_VARIABLE: "s3cret"})
    assert results == {"openlineage file": None, "openlineage http": None}
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["eventType"] for e in lines] == ["START", "START", "COMPLETE", "COMPLETE"]
    assert [p["body"] for p in server.received] == lines
    assert {p["path"] for p in server.received} == {"/api/v1/lineage"}
    assert server.attempts == len(lines) + 1  # the first answered 503 and was retried


def test_a_dead_endpoint_is_reported_not_raised(writer):
    writer.ir_run("r1", {"CsvExampleGen": S.COMPLETE}, span=1)
    events = ol.run_events(writer.store, "taxi", "latest", "ns")
    from tests.support.receivers import free_port
    results = ol.deliver(events, url=f"http://127.0.0.1:{free_port()}", timeout=1)
    assert results["openlineage http"] and "Connection" in results["openlineage http"]


def test_facets_schema_is_valid_json_schema():
    import jsonschema
    jsonschema.Draft202012Validator.check_schema(json.loads(ol.FACETS_SCHEMA.read_text()))
