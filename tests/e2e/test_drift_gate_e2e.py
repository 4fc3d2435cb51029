"""The drift gate between spans, on LocalDagRunner with one output root and store:

1. span 1 (committed data) passes the gate with no baseline, and trains;
2. span 2 with trip_miles scaled 5x (types intact) stops at the drift gate before Transform,
   naming trip_miles with its distance and threshold;
3. span 3 (committed data) passes, compared with span 1: the drifted span never passed.

Lineage diff and the report data carry the distances the gate used.
"""
import csv
import shutil
from pathlib import Path

import pytest

from metadata import runs as mlmd_runs
from metadata.store import open_store
from pipeline import contract as C
from pipeline.config import PipelineConfig
from tests.support.pipeline_runs import SMALL

pytestmark = pytest.mark.e2e

SPANS = Path(__file__).resolve().parents[2] / "data" / "spans"


def _scaled_copy(src: Path, dst: Path, column: str, factor: float) -> None:
    with open(src) as f_in, open(dst, "w", newline="") as f_out:
        reader = csv.DictReader(f_in)
        writer = csv.DictWriter(f_out, fieldnames=reader.fieldnames)
        writer.writeheader()
        for row in reader:
            if row[column]:
                # Stays a decimal number, so the column is still read as FLOAT.
                row[column] = repr(float(row[column]) * factor)
            writer.writerow(row)


def _add_span(data_root: Path, span: int, scale_trip_miles: float = 0.0) -> None:
    folder = data_root / f"span-{span}"
    folder.mkdir(parents=True)
    src = SPANS / f"span-{span}" / "data.csv"
    if scale_trip_miles:
        _scaled_copy(src, folder / "data.csv", "trip_miles", scale_trip_miles)
    else:
        shutil.copy(src, folder / "data.csv")


def _nodes(config, run_id):
    records = mlmd_runs.run_executions(open_store(config.store), config.pipeline_name, run_id)
    return {r.node_id: r for r in records}


def _report(record):
    from artifacts.drift import read_drift_report
    [artifact] = record.outputs[C.DRIFT_REPORT_KEY]
    return artifact, read_drift_report(artifact.uri)


@pytest.fixture(scope="module")
def spans(tmp_path_factory):
    """The three runs: (config, run ids, the drifted run's failure)."""
    from runners import local_runner
    root = tmp_path_factory.mktemp("drift")
    data_root = root / "data"
    config = PipelineConfig.from_flat(output_root=str(root / "out"), data_root=str(data_root),
                                      **SMALL)
    _add_span(data_root, 1)
    first = local_runner.run(config).run_id
    _add_span(data_root, 2, scale_trip_miles=5.0)
    with pytest.raises(local_runner.PipelineFailed) as failed:
        local_runner.run(config)
    _add_span(data_root, 3)
    third = local_runner.run(config).run_id
    return config, (first, failed.value.run_id, third), failed.value


def test_first_span_passes_with_no_baseline(spans):
    config, (first, _, _), _ = spans
    nodes = _nodes(config, first)
    assert nodes[C.DRIFT_GATE].state == "COMPLETE"
    artifact, report = _report(nodes[C.DRIFT_GATE])
    assert report["baseline"] is None and report["features"] == [] and report["span"] == 1
    assert artifact.custom_properties[C.BASELINE_PROPERTY].string_value.startswith("none")
    assert nodes[C.TRAINER].state == "COMPLETE"


def test_drifted_span_stops_before_transform_naming_trip_miles(spans):
    config, (_, drifted, _), failure = spans
    assert failure.node_id == C.DRIFT_GATE
    message = str(failure)
    assert "span 2 drifted from span 1" in message
    lines = [line for line in message.splitlines() if line.strip().startswith("- feature")]
    assert lines and all("'trip_miles'" in line for line in lines), message
    assert all("Jensen-Shannon" in line and "> threshold 0.1500" in line for line in lines)
    nodes = _nodes(config, drifted)
    assert nodes[C.ANOMALY_GATE].state == "COMPLETE"
    assert nodes[C.DRIFT_GATE].state == "FAILED"
    assert not {C.TRANSFORM, C.TUNER, C.TRAINER, C.EVALUATOR, C.PUSHER} & set(nodes)
    assert C.DRIFT_REPORT_KEY not in nodes[C.DRIFT_GATE].outputs


def test_next_normal_span_passes_compared_with_the_last_span_that_passed(spans):
    config, (first, _, third), _ = spans
    nodes = _nodes(config, third)
    assert nodes[C.DRIFT_GATE].state == "COMPLETE"
    assert nodes[C.TRAINER].state == "COMPLETE"
    _, report = _report(nodes[C.DRIFT_GATE])
    baseline_stats = _nodes(config, first)[C.STATISTICS_GEN].outputs[C.STATISTICS_KEY][0]
    assert report["baseline"]["span"] == 1
    assert report["baseline"]["statistics_id"] == baseline_stats.id
    measured = {(r["split"], r["feature"]) for r in report["features"]}
    assert {("train", "trip_miles"), ("train", "payment_type")} <= measured
    assert all(r["passed"] and r["distance"] <= r["threshold"] for r in report["features"])


def test_lineage_diff_and_report_show_the_distances_the_gate_used(spans):
    from lineage.diff import diff
    from lineage.text import format_diff
    from review.collect import collect
    config, (first, drifted, third), _ = spans
    store = open_store(config.store)
    _, report = _report(_nodes(config, third)[C.DRIFT_GATE])

    d = diff(store, config.pipeline_name, first, third)
    assert d["drift_gate"]["a"]["baseline_span"] is None
    assert d["drift_gate"]["b"]["baseline_span"] == 1
    assert d["drift_gate"]["b"]["features"] == report["features"]
    text = format_diff(d)
    assert "Drift gate" in text and "trip_miles" in text and "Jensen-Shannon" in text

    stopped = diff(store, config.pipeline_name, first, drifted)
    assert stopped["drift_gate"]["b"]["state"] == "FAILED"

    review = collect(store, config.pipeline_name, third)
    assert review["data"]["drift"]["report"]["features"] == report["features"]
    assert review["data"]["drift"]["state"] == "COMPLETE"
    stopped_review = collect(store, config.pipeline_name, drifted)
    assert stopped_review["data"]["drift"]["state"] == "FAILED"
