"""Pipeline runs as the end-to-end tests see them: the small config, the nodes a run has, and
a snapshot of what one run recorded in MLMD."""
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from tabflow.metadata import runs as mlmd_runs
from tabflow.metadata.store import open_store
from tabflow import contract
from tabflow.config import PipelineConfig
from tests.support.default_dataset import facts

# Every component node of the definition; the resolvers are system nodes, listed apart.
RESOLVER = contract.RESOLVER
DRIFT_RESOLVER = contract.DRIFT_BASELINE
TUNING_RESOLVER = contract.TUNING_REUSE
RESOLVERS = {RESOLVER, DRIFT_RESOLVER, TUNING_RESOLVER}
COMPONENTS = [node for node in contract.NODES if node not in RESOLVERS]

# max_regression leaves room for the noise between two short trainings: the shared runs
# retrain once and expect the new model to be blessed against the first. Within the gated slice
# (a few hundred test rows) two short trainings differ by more, so that gate is open.
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


# What write_broken_column writes: text where the schema expects an integer.
BROKEN_CELL = "not a number"


def write_broken_column(src, dst, column: str = "", keep=lambda row: True) -> None:
    """Copies the rows of CSV `src` that `keep` accepts to `dst`, with `column` (by default the
    default dataset's slice column, an integer category) made text (BROKEN_CELL) in every third
    of them: data the anomaly gate must stop."""
    import csv
    column = column or facts().slice_column
    with open(src) as fin, open(dst, "w", newline="") as fout:
        reader = csv.DictReader(fin)
        writer = csv.DictWriter(fout, fieldnames=reader.fieldnames)
        writer.writeheader()
        for i, row in enumerate(r for r in reader if keep(r)):
            if i % 3 == 0:
                row[column] = BROKEN_CELL
            writer.writerow(row)


def add_span(data_root: Path, span: int, scale: float = 0.0, column: str = "") -> None:
    """Publishes the default dataset's committed span N under data_root whole (written aside,
    then renamed, as an upload job would), with `column` (by default the dataset's drift
    column) scaled `scale`-fold when asked: types intact, so the data passes the anomaly gate
    and drifts."""
    import csv
    import shutil
    from tabflow.artifacts.schema import load_schema
    from tensorflow_metadata.proto.v0 import schema_pb2
    committed = PipelineConfig().data
    staging = data_root / f".span-{span}.partial"
    staging.mkdir(parents=True)
    src = Path(committed.data_root) / f"span-{span}" / "data.csv"
    if scale:
        column = column or facts().drift_column
        [feature] = [f for f in load_schema(committed.schema_path).feature if f.name == column]
        # A scaled cell keeps its schema type: a float stays a decimal number, an integer
        # stays whole.
        write = repr if feature.type == schema_pb2.FLOAT else (lambda value: str(round(value)))
        with open(src) as f_in, open(staging / "data.csv", "w", newline="") as f_out:
            reader = csv.DictReader(f_in)
            writer = csv.DictWriter(f_out, fieldnames=reader.fieldnames)
            writer.writeheader()
            for row in reader:
                if row[column]:
                    row[column] = write(float(row[column]) * scale)
                writer.writerow(row)
    else:
        shutil.copy(src, staging / "data.csv")
    staging.rename(data_root / f"span-{span}")
