"""Pipeline runs as the end-to-end tests see them: the small config, the nodes a run has, and
a snapshot of what one run recorded in MLMD."""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from tabflow.metadata import runs as mlmd_runs
from tabflow.metadata.store import open_store
from tabflow import contract
from tabflow.config import PipelineConfig

# Every component node of the definition; the resolvers are system nodes, listed apart.
RESOLVER = contract.RESOLVER
DRIFT_RESOLVER = contract.DRIFT_BASELINE
TUNING_RESOLVER = contract.TUNING_REUSE
RESOLVERS = {RESOLVER, DRIFT_RESOLVER, TUNING_RESOLVER}
COMPONENTS = [node for node in contract.NODES if node not in RESOLVERS]

# max_regression leaves room for the noise between two short trainings: the shared runs
# retrain once and expect the new model to be blessed against the first. Within the Credit Card
# slice (a few hundred test rows) two short trainings differ by more, so that gate is open.
SMALL = dict(train_steps=300, eval_steps=50, batch_size=64, tuner_trials=2,
             tuner_train_steps=40, tuner_eval_steps=10, threshold=0.7, max_regression=0.05,
             max_slice_regression=1.0)
# The shared runs' second configuration: only the Trainer (and what follows it) runs again.
RETRAIN = dict(train_steps=SMALL["train_steps"] + 20)


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
    store = open_store(config.store)
    return RunSnapshot(result.run_id,
                       mlmd_runs.run_executions(store, config.pipeline_name, result.run_id),
                       len(store.get_artifacts()), result)


def with_overrides(config: PipelineConfig, **changes) -> PipelineConfig:
    return config.replace(**changes)


def span_csv(config, span: int) -> Path:
    [path] = (Path(config.data.data_root) / f"span-{span}").glob("*.csv")
    return path


def out(snap, node, key):
    return snap.by_node()[node][0].outputs[key][0]


class UpTo:
    """LocalDagRunner running the pipeline only up to one node (a partial run from the
    sources, so nothing is reused from earlier runs): cases that pass the gate need not train."""

    def __init__(self, node_id: str):
        self.node_id = node_id

    def run_with_ir(self, ir):
        from tfx import v1 as tfx
        from tfx.proto.orchestration import pipeline_pb2
        tfx.orchestration.LocalDagRunner().run_with_ir(ir, run_options=pipeline_pb2.RunOptions(
            partial_run=pipeline_pb2.PartialRun(
                to_nodes=[self.node_id],
                snapshot_settings=pipeline_pb2.SnapshotSettings(
                    latest_pipeline_run_strategy=pipeline_pb2.SnapshotSettings
                        .LatestPipelineRunStrategy()))))


def write_broken_hours(src, dst, keep=lambda row: True) -> None:
    """Copies the rows of CSV `src` that `keep` accepts to `dst`, with trip_start_hour made
    text ("late evening") in every third of them: data the anomaly gate must stop."""
    import csv
    with open(src) as fin, open(dst, "w", newline="") as fout:
        reader = csv.DictReader(fin)
        writer = csv.DictWriter(fout, fieldnames=reader.fieldnames)
        writer.writeheader()
        for i, row in enumerate(r for r in reader if keep(r)):
            if i % 3 == 0:
                row["trip_start_hour"] = "late evening"
            writer.writerow(row)


SPANS = Path(__file__).resolve().parents[2] / "data" / "taxi" / "spans"


def add_span(data_root: Path, span: int, scale_trip_miles: float = 0.0) -> None:
    """Publishes the committed span N under data_root whole (written aside, then renamed, as an
    upload job would), with trip_miles scaled when asked: types intact, so the data passes the
    anomaly gate and drifts."""
    import csv
    import shutil
    staging = data_root / f".span-{span}.partial"
    staging.mkdir(parents=True)
    src = SPANS / f"span-{span}" / "data.csv"
    if scale_trip_miles:
        with open(src) as f_in, open(staging / "data.csv", "w", newline="") as f_out:
            reader = csv.DictReader(f_in)
            writer = csv.DictWriter(f_out, fieldnames=reader.fieldnames)
            writer.writeheader()
            for row in reader:
                if row["trip_miles"]:
                    # Stays a decimal number, so the column is still read as FLOAT.
                    row["trip_miles"] = repr(float(row["trip_miles"]) * scale_trip_miles)
                writer.writerow(row)
    else:
        shutil.copy(src, staging / "data.csv")
    staging.rename(data_root / f"span-{span}")
