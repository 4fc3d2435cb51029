"""tabflow/contract.py against the compiled pipeline: every node id, output key, custom type name
and input key the readers follow exists there, so a rename in the definition fails here instead
of turning report and lineage fields into None."""
import pytest

from tabflow import contract as C
from tabflow.config import PipelineConfig


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    from tfx.dsl.compiler import compiler

    from pipeline.pipeline import create_pipeline

    from pipeline.inputs import gather
    config = PipelineConfig(output_root=str(tmp_path_factory.mktemp("contract")))
    pipeline = create_pipeline(config, gather(config))
    ir = compiler.Compiler().compile(pipeline)
    nodes = {node.pipeline_node.node_info.id: node.pipeline_node for node in ir.nodes}
    return nodes, {component.id: component for component in pipeline.components}


def test_node_ids_are_the_contracts(compiled):
    nodes, components = compiled
    assert set(nodes) == set(components) == set(C.NODES)


def test_output_keys_are_the_contracts(compiled):
    nodes, components = compiled
    for node_id, keys in C.OUTPUTS.items():
        # A resolver's outputs exist in the DSL only: the compiled IR folds them into the
        # inputs of the nodes that read them.
        outputs = set(components[node_id].outputs if node_id in (C.RESOLVER, C.DRIFT_BASELINE, C.TUNING_REUSE)
                      else nodes[node_id].outputs.outputs)
        assert set(keys) <= outputs, f"{node_id}: {sorted(keys)} not all in {sorted(outputs)}"


def test_input_keys_the_readers_follow_exist(compiled):
    def inputs(node_id):
        return set(compiled[0][node_id].inputs.inputs)

    assert {C.TRAINER_INPUT_SCHEMA, C.TRAINER_INPUT_TRANSFORM_GRAPH,
            C.TRAINER_INPUT_HYPERPARAMETERS} <= inputs(C.TRAINER)
    assert C.TRANSFORM_INPUT_EXAMPLES in inputs(C.TRANSFORM)
    assert {C.EVALUATOR_INPUT_MODEL, C.EVALUATOR_INPUT_BASELINE} <= inputs(C.EVALUATOR)
    assert {C.PUSHER_INPUT_MODEL, C.PUSHER_INPUT_BLESSING} <= inputs(C.PUSHER)
    assert C.VALIDATOR_INPUT_SCHEMA in inputs(C.EXAMPLE_VALIDATOR)
    assert {C.DRIFT_GATE_INPUT_STATISTICS, C.DRIFT_GATE_INPUT_BASELINE,
            C.DRIFT_GATE_INPUT_BASELINE_EXAMPLES} <= inputs(C.DRIFT_GATE)


def test_custom_artifact_type_names_are_the_contracts(compiled):
    def output_type(node_id, key):
        return compiled[0][node_id].outputs.outputs[key].artifact_spec.type.name

    assert output_type(C.PROVENANCE, C.PROVENANCE_KEY) == C.PROVENANCE_TYPE
    assert output_type(C.ANOMALY_GATE, C.VERDICT_KEY) == C.GATE_VERDICT_TYPE
    assert output_type(C.DRIFT_GATE, C.DRIFT_REPORT_KEY) == C.DRIFT_REPORT_TYPE
    assert output_type(C.EXAMPLE_GEN, C.EXAMPLES_KEY) == C.EXAMPLES_TYPE
    assert output_type(C.TRAINER, C.MODEL_KEY) == C.MODEL_TYPE
    assert output_type(C.EVALUATOR, C.BLESSING_KEY) == C.MODEL_BLESSING_TYPE
    assert output_type(C.PUSHER, C.PUSHED_MODEL_KEY) == C.PUSHED_MODEL_TYPE


def test_resolver_execution_type_is_tfx_resolver():
    from tfx.dsl.components.common import resolver
    assert f"{resolver.Resolver.__module__}.{resolver.Resolver.__name__}" == \
        C.RESOLVER_EXECUTION_TYPE


def test_the_contract_imports_nothing():
    import subprocess
    import sys
    code = "import sys; import tabflow.contract; print(sorted(m for m in sys.modules if m.startswith(('tfx', 'tensorflow', 'ml_metadata'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
