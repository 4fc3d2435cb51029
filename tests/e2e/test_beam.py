"""End-to-end: the full pipeline on BeamDagRunner (the first of the shared Beam runs, see
conftest.py), and one MLMD store shared with LocalDagRunner."""
import os

import pytest

from tabflow.metadata.runs import list_runs
from tabflow.metadata.store import open_store
from tests.support.pipeline_runs import COMPONENTS, RESOLVERS, snapshot

pytestmark = pytest.mark.e2e



def _states(snap):
    return {node: [r.state for r in records] for node, records in snap.by_node().items()}


def test_full_pipeline_on_beam_dag_runner(beam_runs):
    config, _, snap = beam_runs
    result = snap.result

    assert snap.run_id.startswith("beam-")
    states = _states(snap)
    for node in COMPONENTS:
        assert states.get(node) == ["COMPLETE"], f"{node}: {states.get(node)}"
    assert set(states) == set(COMPONENTS) | RESOLVERS

    # Same context schema as LocalDagRunner: each execution sits in its pipeline, its run and
    # its node.
    store = open_store(config.store)
    types = {t.id: t.name for t in store.get_context_types()}
    for record in snap.executions:
        contexts = {(types[c.type_id], c.name) for c in store.get_contexts_by_execution(record.id)}
        assert contexts >= {("pipeline", config.pipeline_name),
                            ("pipeline_run", snap.run_id),
                            ("node", f"{config.pipeline_name}.{record.node_id}")}, contexts

    assert len(result.pushed) == 1
    assert result.pushed[0].startswith(config.serving_dir)
    assert os.path.isfile(os.path.join(result.pushed[0], "saved_model.pb"))


def test_beam_run_reuses_the_local_runs_cache(e2e_config, three_runs):
    """A Beam run on the local runs' store and pipeline root reuses every component's outputs.

    Only RunProvenance executes: it records the runner, which is now "beam".
    """
    from runners import beam_runner
    store = open_store(e2e_config.store)
    artifacts_before = len(store.get_artifacts())
    result = beam_runner.run(e2e_config)
    snap = snapshot(e2e_config, result)

    assert snap.run_id.startswith("beam-")
    states = _states(snap)
    assert states["RunProvenance"] == ["COMPLETE"]
    for node in set(COMPONENTS) - {"RunProvenance"}:
        assert states[node] == ["CACHED"], f"{node}: {states[node]}"
    assert snap.artifact_count == artifacts_before + 1
    provenance = snap.by_node()["RunProvenance"][0].outputs["provenance"][0]
    assert provenance.custom_properties["runner"].string_value == "beam"
    # The cached outputs are the very artifacts the first local run produced.
    local = three_runs[0].by_node()
    beam = snap.by_node()
    for node, key in [("CsvExampleGen", "examples"), ("Transform", "transform_graph"),
                      ("Trainer", "model")]:
        assert [a.id for a in beam[node][0].outputs[key]] == \
            [a.id for a in local[node][0].outputs[key]], node
    # Pipeline contexts are shared: the local and Beam runs are children of one pipeline.
    runs = [r.run_id for r in list_runs(store, e2e_config.pipeline_name)]
    assert three_runs[0].run_id in runs and snap.run_id in runs
