"""One definition, every orchestrator: the same nodes and dependency edges.

Local runs the compiled IR (Beam compiles the very same IR, so comparing the two shapes could
not fail: Beam's outcomes are compared with Local's and Airflow's run by run in
tests/e2e/test_airflow.py::test_the_same_outcomes_as_local_and_beam); Airflow builds a DAG
with one task per component; Dagster a job with one op per node (its dependencies read back
from the job's definition); Prefect submits one task per node, each waiting for its upstream
nodes (read back from a flow run whose tasks are recorded, not launched); Kubeflow v2 compiles a PipelineSpec. The documented differences: neither Kubeflow target has the drift
baseline resolver (KubeflowV2's compiler has no custom resolver strategies), and the open-source
KFP target has no latest-blessed-model resolver (its backend cannot run Resolver nodes).
"""
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e  # builds the Airflow DAG in a subprocess: a minute or more

from tabflow.config import PipelineConfig
from tabflow.contract import DRIFT_BASELINE, RESOLVER as RESOLVER_ID, TUNING_REUSE

Graph = tuple  # (set of node ids, set of (upstream, downstream) edges)


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    return PipelineConfig.from_flat(output_root=str(tmp_path_factory.mktemp("parity")))


def _ir_graph(config, runner) -> Graph:
    from tfx.dsl.compiler import compiler
    from pipeline.pipeline import create_pipeline
    from pipeline.inputs import gather
    ir = compiler.Compiler().compile(create_pipeline(config, gather(config, runner), runner=runner))
    nodes, edges = set(), set()
    for node in ir.nodes:
        node_id = node.pipeline_node.node_info.id
        nodes.add(node_id)
        edges |= {(up, node_id) for up in node.pipeline_node.upstream_nodes}
    return nodes, edges


def _airflow_graph(config, tmp_path) -> Graph:
    # A subprocess: importing Airflow reconfigures logging and reads AIRFLOW_HOME.
    script = (
        "import json\n"
        "from tabflow.config import from_sources\n"
        "from runners.airflow_dag import build_dag\n"
        "dag = build_dag(from_sources())\n"
        "print(json.dumps({t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}))\n")
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path / "airflow"),
               AIRFLOW__CORE__LOAD_EXAMPLES="False", TAXI_OUTPUT_ROOT=config.output_root)
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=600, check=True).stdout
    tasks = json.loads(out.strip().splitlines()[-1])
    return set(tasks), {(up, task) for task, ups in tasks.items() for up in ups}


def _kubeflow_graph(config, target) -> Graph:
    from runners import kubeflow_v2

    def node_of(task):
        # KFP compiles the resolver into one importer-like task per resolved channel.
        return RESOLVER_ID if task.startswith(RESOLVER_ID + "-") else task

    compiled = kubeflow_v2.compile_pipeline(config, target, allow_local_root=True)
    with open(compiled.pipeline_job_json) as f:
        tasks = kubeflow_v2.pipeline_tasks(json.load(f)["pipelineSpec"])
    nodes = {node_of(t) for t in tasks}
    edges = {(node_of(up), node_of(t)) for t, spec in tasks.items()
             for up in spec.get("dependentTasks", [])}
    return nodes, edges


def _dagster_graph(config) -> Graph:
    from runners import dagster_job
    job = dagster_job.build_job(config)
    node_of = {dagster_job.op_name(n): n for n in _ir_graph(config, "dagster")[0]}
    nodes, edges = set(), set()
    for op in job.graph.node_defs:
        nodes.add(node_of[op.name])
        for output in job.graph.dependency_structure.all_upstream_outputs_from_node(op.name):
            edges.add((node_of[output.node_name], node_of[op.name]))
    return nodes, edges


def _prefect_graph(config) -> Graph:
    """The tasks the flow submits and the upstream tasks each waits for (runners/prefect_flow.py
    submits through submit_nodes), in a subprocess: importing Prefect configures logging."""
    script = (
        "import json\n"
        "from tabflow.config import from_sources\n"
        "from runners import dagster_job, prefect_flow\n"
        "ir = dagster_job.compiled_shape(from_sources())\n"
        "waits = prefect_flow.submit_nodes(ir, lambda node_id, wait_for: (node_id, wait_for))\n"
        "print(json.dumps({n: [up for up, _ in w] for n, (_, w) in waits.items()}))\n")
    env = dict(os.environ, TABFLOW_OUTPUT_ROOT=config.output_root)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    tasks = json.loads(proc.stdout.strip().splitlines()[-1])
    return set(tasks), {(up, task) for task, ups in tasks.items() for up in ups}


def test_every_runner_gets_the_same_nodes_and_edges(config, tmp_path):
    local = _ir_graph(config, "local")
    nodes, edges = local
    assert RESOLVER_ID in nodes and ("AnomalyGate", "Transform") in edges
    assert _airflow_graph(config, tmp_path) == local
    assert _dagster_graph(config) == local
    assert _prefect_graph(config) == local
    # Documented: KubeflowV2's compiler has no custom resolver strategies, so both Kubeflow
    # targets leave out the drift baseline and tuning reuse resolvers (the drift gate then has
    # no baseline, the Tuner always searches), and
    # Vertex's model resolver uses TFX's latest-blessed-model strategy, which does not read the
    # candidate (one edge less); open-source KFP also leaves out the model resolver.
    assert DRIFT_BASELINE in nodes and ("DriftGate", "Transform") in edges
    candidate_edge = ("Trainer", RESOLVER_ID)
    assert candidate_edge in edges
    assert TUNING_REUSE in nodes and (TUNING_REUSE, "Tuner") in edges
    custom = {DRIFT_BASELINE, TUNING_REUSE}
    kubeflow = (nodes - custom, {e for e in edges if not custom & set(e)})
    assert _kubeflow_graph(config, "vertex") == (kubeflow[0], kubeflow[1] - {candidate_edge})
    assert _kubeflow_graph(config, "kfp") == (
        kubeflow[0] - {RESOLVER_ID}, {e for e in kubeflow[1] if RESOLVER_ID not in e})


def test_dagster_and_prefect_take_the_schedule_and_trigger_settings(config, monkeypatch):
    """trigger schedule: a Dagster schedule and a Prefect deployment schedule on the cron of
    airflow_schedule; trigger new_span: Dagster's sensor, and no schedule on either."""
    monkeypatch.setenv("TABFLOW_OUTPUT_ROOT", config.output_root)  # dagster_defs' own `defs`
    from runners import dagster_defs
    daily = config.replace(airflow_schedule="@daily")
    defs = dagster_defs.build_definitions(daily)
    assert [s.cron_schedule for s in defs.schedules] == ["0 0 * * *"] and not defs.sensors
    defs = dagster_defs.build_definitions(config.replace(airflow_trigger="new_span"))
    assert [s.name for s in defs.sensors] == ["new_span"] and not defs.schedules
    script = (
        "import json, sys\n"
        "from tabflow.config import PipelineConfig\n"
        "from runners.prefect_flow import deployment\n"
        "out = {}\n"
        "for trigger in ('schedule', 'new_span'):\n"
        "    d = deployment(PipelineConfig.from_flat(output_root=sys.argv[1],\n"
        "        airflow_schedule='*/30 * * * *', airflow_trigger=trigger))\n"
        "    out[trigger] = [d.entrypoint, [s.schedule.cron for s in d.schedules]]\n"
        "print(json.dumps(out))\n")
    proc = subprocess.run([sys.executable, "-c", script, config.output_root],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    entrypoint = "runners.prefect_flow.tabflow_pipeline"
    assert out == {"schedule": [entrypoint, ["*/30 * * * *"]], "new_span": [entrypoint, []]}
