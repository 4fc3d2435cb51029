"""Shared real pipeline runs for the end-to-end tests.

One output root (pipeline root + SQLite MLMD) is run three times with a small config; the
scenario tests then add runs to the same store, each reading only what its own run wrote.
"""
import dataclasses
from dataclasses import dataclass
from typing import Dict, List

import pytest

from pipeline import mlmd_queries
from pipeline.config import PipelineConfig

# Every component node of the definition (the resolver is a system node, listed apart).
COMPONENTS = ["RunProvenance", "CsvExampleGen", "StatisticsGen", "SchemaGen", "ImportSchemaGen",
              "ExampleValidator", "AnomalyGate", "Transform", "Tuner", "Trainer",
              "Evaluator", "Pusher"]
RESOLVER = "latest_blessed_model_resolver"

SMALL = dict(train_steps=300, eval_steps=50, batch_size=64, tuner_trials=2,
             tuner_train_steps=40, tuner_eval_steps=10, min_auc=0.7)


@dataclass
class RunSnapshot:
    run_id: str
    executions: List[mlmd_queries.ExecutionRecord]
    artifact_count: int
    result: object

    def by_node(self) -> Dict[str, List[mlmd_queries.ExecutionRecord]]:
        out: Dict[str, List[mlmd_queries.ExecutionRecord]] = {}
        for record in self.executions:
            out.setdefault(record.node_id, []).append(record)
        return out


def snapshot(config, result) -> RunSnapshot:
    store = mlmd_queries.connect(config)
    run = store.get_context_by_type_and_name("pipeline_run", result.run_id)
    return RunSnapshot(run.name, mlmd_queries.run_executions(store, run),
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
    return mlmd_queries.connect(e2e_config)


def with_overrides(config: PipelineConfig, **changes) -> PipelineConfig:
    return dataclasses.replace(config, **changes)
