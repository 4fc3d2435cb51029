"""Runs of a pipeline in the MLMD store."""
from typing import Optional

from ml_metadata.proto import metadata_store_pb2

from pipeline import mlmd_queries


def latest_output(store, pipeline_name: str, node_id: str,
                  key: str) -> Optional[metadata_store_pb2.Artifact]:
    """The newest run's output artifact of node `node_id` under `key`, or None if no run has
    one."""
    for run in reversed(mlmd_queries.pipeline_runs(store, pipeline_name)):
        for record in mlmd_queries.run_executions(store, run):
            if record.node_id == node_id and record.outputs.get(key):
                return record.outputs[key][0]
    return None
