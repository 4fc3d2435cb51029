"""Shared real pipeline runs for the end-to-end tests.

One output root (pipeline root + SQLite MLMD) is run three times with a small config; the
scenario tests then add runs to the same store, each reading only what its own run wrote.
"""
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import pytest

from metadata import runs as mlmd_runs
from metadata.store import open_store
from pipeline.config import PipelineConfig

# Every component node of the definition (the resolver is a system node, listed apart).
COMPONENTS = ["RunProvenance", "ImportSchemaGen", "CsvCheck", "CsvExampleGen", "StatisticsGen",
              "SchemaGen", "ExampleValidator", "AnomalyGate", "Transform", "Tuner", "Trainer",
              "Evaluator", "Pusher"]
RESOLVER = "latest_blessed_model_resolver"

SMALL = dict(train_steps=300, eval_steps=50, batch_size=64, tuner_trials=2,
             tuner_train_steps=40, tuner_eval_steps=10, min_auc=0.7)


@dataclass
class RunSnapshot:
    run_id: str
    executions: List[mlmd_runs.ExecutionRecord]
    artifact_count: int
    result: object

    def by_node(self) -> Dict[str, List[mlmd_runs.ExecutionRecord]]:
        out: Dict[str, List[mlmd_runs.ExecutionRecord]] = {}
        for record in self.executions:
            out.setdefault(record.node_id, []).append(record)
        return out


def snapshot(config, result) -> RunSnapshot:
    store = open_store(config)
    return RunSnapshot(result.run_id,
                       mlmd_runs.run_executions(store, config.pipeline_name, result.run_id),
                       len(store.get_artifacts()), result)


@pytest.fixture(scope="session")
def e2e_config(tmp_path_factory) -> PipelineConfig:
    return PipelineConfig(output_root=str(tmp_path_factory.mktemp("e2e")), **SMALL)


@pytest.fixture(scope="session")
def three_runs(e2e_config):
    from runners import local_runner
    snaps = []
    for _ in range(3):
        result = local_runner.run(e2e_config)
        snaps.append(snapshot(e2e_config, result))
    return snaps


@pytest.fixture(scope="session")
def store(e2e_config, three_runs):
    return open_store(e2e_config)


def with_overrides(config: PipelineConfig, **changes) -> PipelineConfig:
    return dataclasses.replace(config, **changes)


@pytest.fixture(scope="session")
def strict_run(e2e_config, three_runs):
    """A run whose model cannot be blessed: mostly cached, the Evaluator judges afresh.

    min_auc differs from test_local_pipeline.py's 1.0 so that its own strict run still executes
    its Evaluator (same store, same inputs) whichever file runs first.
    """
    from runners import local_runner
    strict = with_overrides(e2e_config, min_auc=0.9999)
    return snapshot(strict, local_runner.run(strict))


def span_csv(config, span: int) -> Path:
    [path] = (Path(config.data_root) / f"span-{span}").glob("*.csv")
    return path


@pytest.fixture(scope="session")
def drifted_run(e2e_config, three_runs, tmp_path_factory):
    """A run on other data for the same span number, which the gate stops: only the trips with
    fare >= 10, and a broken trip_start_hour in a third of them. Returns the run id."""
    import csv
    from runners import local_runner
    span = out(three_runs[0], "CsvExampleGen", "examples").custom_properties["span"].int_value
    data = tmp_path_factory.mktemp("drifted")
    (data / f"span-{span}").mkdir()
    with open(span_csv(e2e_config, span)) as src, \
            open(data / f"span-{span}" / "data.csv", "w", newline="") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames)
        writer.writeheader()
        for i, row in enumerate(r for r in reader if r["fare"] and float(r["fare"]) >= 10):
            if i % 3 == 0:
                row["trip_start_hour"] = "late evening"
            writer.writerow(row)
    with pytest.raises(local_runner.PipelineFailed) as failed:
        local_runner.run(with_overrides(e2e_config, data_root=str(data)))
    assert failed.value.node_id == "AnomalyGate"
    return failed.value.run_id


def out(snap, node, key):
    return snap.by_node()[node][0].outputs[key][0]
