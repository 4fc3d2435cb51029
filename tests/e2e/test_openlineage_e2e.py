"""End-to-end: OpenLineage events of the shared real runs (pushed, cached, unblessed, stopped at
the data gate), exported by `tabflow lineage export --openlineage` as a process to an
HTTP endpoint on loopback and to a file, each checked against the spec and against MLMD."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tabflow.metadata.runs import list_runs, run_executions
from tabflow import contract as C
from tests.support.default_dataset import facts
from tests.support.openlineage_check import check_run_event
from tests.support.pipeline_runs import out
from tests.support.receivers import http_receiver

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _export(config, *args):
    done = subprocess.run([sys.executable, "-m", "tabflow.console", "lineage", "export", "--openlineage",
                           "--output-root", config.output_root, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def exported(e2e_config, three_runs, strict_run, drifted_run):
    """Every run's events, as an OpenLineage endpoint received them."""
    with http_receiver() as server:
        base = server.url.rsplit("/", 1)[0]
        printed = _export(e2e_config, "--all", "--url", base)
    events = [post["body"] for post in server.received]
    assert {post["path"] for post in server.received} == {"/api/v1/lineage"}
    assert f"{len(events)} OpenLineage events of " in printed
    return events


def _of_run(events, run_id):
    return [e for e in events
            if e["run"]["facets"].get("tabflow_execution", {}).get("pipelineRunId") == run_id]


def test_every_event_meets_the_spec(exported, store, e2e_config):
    for event in exported:
        check_run_event(event)
    runs = list_runs(store, e2e_config.pipeline_name)
    # One pipeline-level START per run, and an end for each finished one.
    starts = [e for e in exported if e["job"]["name"] == "taxi" and e["eventType"] == "START"]
    assert len(starts) == len(runs)


def test_each_execution_starts_and_ends_as_mlmd_recorded(exported, store, e2e_config,
                                                         three_runs):
    for snap in three_runs:
        events = _of_run(exported, snap.run_id)
        records = run_executions(store, e2e_config.pipeline_name, snap.run_id)
        assert len(events) == 2 * len(records)
        for record in records:
            mine = [e for e in events
                    if e["run"]["facets"]["tabflow_execution"]["mlmdExecutionId"] == record.id]
            assert [e["eventType"] for e in mine] == ["START", "COMPLETE"]
            assert mine[0]["job"]["name"] == f"taxi.{record.node_id}"
            assert mine[1]["run"]["facets"]["tabflow_execution"]["state"] == record.state
            # Outputs are named by the artifacts' URIs and versioned by their MLMD ids.
            published = {(d["name"], d["facets"]["datasetVersion"]["datasetVersion"])
                         for d in mine[1]["outputs"]}
            assert published == {(a.uri, str(a.id)) for artifacts in record.outputs.values()
                                 for a in artifacts}
    # The unchanged rerun: every component cached, every event still there.
    cached = _of_run(exported, three_runs[2].run_id)
    trainer = [e for e in cached if e["job"]["name"] == f"taxi.{C.TRAINER}"]
    assert trainer[-1]["run"]["facets"]["tabflow_execution"]["state"] == "CACHED"


def test_examples_carry_schema_and_row_counts(exported, three_runs):
    from tabflow.artifacts.statistics import row_counts
    first = _of_run(exported, three_runs[0].run_id)
    [statistics_end] = [e for e in first if e["job"]["name"] == f"taxi.{C.STATISTICS_GEN}"
                        and e["eventType"] == "COMPLETE"]
    [examples] = statistics_end["inputs"]
    rows = sum(row_counts(out(three_runs[0], C.STATISTICS_GEN, C.STATISTICS_KEY).uri).values())
    metrics = examples["inputFacets"]["dataQualityMetrics"]
    assert metrics["rowCount"] == rows > 0
    number, text = facts().float_column, facts().string_column
    assert metrics["columnMetrics"][number]["max"] > metrics["columnMetrics"][number]["min"]
    fields = {f["name"]: f["type"] for f in examples["facets"]["schema"]["fields"]}
    assert fields[number] == "FLOAT" and fields[text] == "BYTES"
    [example_gen_end] = [e for e in first if e["job"]["name"] == f"taxi.{C.EXAMPLE_GEN}"
                         and e["eventType"] == "COMPLETE"]
    assert example_gen_end["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == rows


def test_the_model_metrics_and_the_push(exported, three_runs, strict_run):
    pushed_run = _of_run(exported, three_runs[1].run_id)
    [evaluator] = [e for e in pushed_run if e["job"]["name"] == f"taxi.{C.EVALUATOR}"
                   and e["eventType"] == "COMPLETE"]
    metrics = [d["facets"]["tabflow_modelMetrics"] for d in evaluator["outputs"]
               if d["facets"]["tabflow_artifact"]["type"] == "ModelEvaluation"][0]
    assert 0.5 < metrics["candidate"]["auc"] <= 1 and metrics["baseline"]["auc"] > 0.5
    assert metrics["blessed"] is True
    [pusher] = [e for e in pushed_run if e["job"]["name"] == f"taxi.{C.PUSHER}"
                and e["eventType"] == "COMPLETE"]
    push = pusher["outputs"][0]["facets"]["tabflow_push"]
    pushed = out(three_runs[1], C.PUSHER, C.PUSHED_MODEL_KEY)
    assert push["pushed"] is True
    assert push["version"] == pushed.custom_properties[C.PUSHED_VERSION_PROPERTY].string_value

    unblessed = _of_run(exported, strict_run.run_id)
    [evaluator] = [e for e in unblessed if e["job"]["name"] == f"taxi.{C.EVALUATOR}"
                   and e["eventType"] == "COMPLETE"]
    assert {d["facets"]["tabflow_modelMetrics"]["blessed"] for d in evaluator["outputs"]} == {False}
    assert not any(d["facets"].get("tabflow_push", {}).get("pushed")
                   for e in unblessed for d in e.get("outputs", []))


def test_a_gate_stop_fails_with_the_anomalies(exported, drifted_run):
    events = _of_run(exported, drifted_run)
    gate = [e for e in events if e["job"]["name"] == f"taxi.{C.ANOMALY_GATE}"]
    assert [e["eventType"] for e in gate] == ["START", "FAIL"]
    message = gate[-1]["run"]["facets"]["errorMessage"]["message"]
    broken = facts().slice_column
    assert broken in message
    # The gate reads the anomalies, and the span's Examples and schema for its value checks.
    [anomalies] = [i for i in gate[-1]["inputs"] if "/ExampleValidator/" in i["name"]]
    assertions = anomalies["inputFacets"]["dataQualityAssertions"]["assertions"]
    assert any(a.get("column") == broken and not a["success"] for a in assertions)
    # Nothing downstream of the gate ran, and the pipeline's own run failed.
    assert not [e for e in events if e["job"]["name"] == f"taxi.{C.TRAINER}"]
    parent = events[0]["run"]["facets"]["parent"]["run"]["runId"]
    [end] = [e for e in exported if e["run"]["runId"] == parent and e["eventType"] != "START"]
    assert end["eventType"] == "FAIL" and broken in \
        end["run"]["facets"]["errorMessage"]["message"]


def test_file_export_matches_the_http_one(exported, e2e_config, three_runs, tmp_path):
    path = tmp_path / "events.jsonl"
    _export(e2e_config, three_runs[0].run_id, "--output", str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    sent = [e for e in exported if e["run"]["facets"].get("tabflow_execution", {})
            .get("pipelineRunId") == three_runs[0].run_id]
    assert [e for e in lines if e["job"]["name"] != "taxi"] == sent
