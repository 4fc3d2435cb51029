"""A run on TFX's IR-based runners (LocalDagRunner, BeamDagRunner), prepared and recorded from
outside the runner.

Relies on TFX 1.16.0's portable orchestration, none of it in tfx.v1:
- the compiler (tfx.dsl.compiler.compiler.Compiler) and
  runtime_parameter_utils.substitute_runtime_parameter with
  constants.PIPELINE_RUN_ID_PARAMETER_NAME: the run id bound into the IR before the runner
  sees it, which the runner keeps;
- context_lib.prepare_contexts on a tfx.orchestration.metadata.Metadata handle: it creates a
  node's contexts as the runner does at its first node, and the runner later finds them by
  type and name and reuses them;
- the IR's RunOptions / PartialRun / SnapshotSettings (tfx/proto/orchestration/pipeline.proto),
  which run_with_ir takes for a partial run.
"""
import contextlib
from typing import Iterable


def compile_with_run_id(pipeline, run_id: str):
    """The pipeline's IR (pipeline_pb2.Pipeline) with its run id bound to `run_id`."""
    from tfx.dsl.compiler import compiler, constants
    from tfx.orchestration.portable import runtime_parameter_utils
    ir = compiler.Compiler().compile(pipeline)
    runtime_parameter_utils.substitute_runtime_parameter(
        ir, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: run_id})
    return ir


def partial_run_options(node_id: str, base_run_id: str):
    """RunOptions for TFX's partial run: `node_id` and everything downstream run; every upstream
    node's outputs are reused from the base run (TFX records them in the new run as well)."""
    from tfx.proto.orchestration import pipeline_pb2
    return pipeline_pb2.RunOptions(partial_run=pipeline_pb2.PartialRun(
        from_nodes=[node_id],
        snapshot_settings=pipeline_pb2.SnapshotSettings(
            base_pipeline_run_strategy=pipeline_pb2.SnapshotSettings.BasePipelineRunStrategy(
                base_run_id=base_run_id))))


@contextlib.contextmanager
def metadata_store(connection):
    """The MLMD store on `connection` (a ConnectionConfig), opened as TFX's runners open it."""
    from tfx.orchestration import metadata
    with metadata.Metadata(connection) as handle:
        yield handle.store


@contextlib.contextmanager
def run_contexts_prepared(connection, ir, context_types: Iterable[str]):
    """The MLMD store on `connection`, after creating the contexts of `ir`'s first node whose
    type is one of `context_types`, as the runner does at its first node."""
    from tfx.orchestration import metadata
    from tfx.orchestration.portable.mlmd import context_lib
    from tfx.proto.orchestration import pipeline_pb2
    types = tuple(context_types)
    specs = pipeline_pb2.NodeContexts(contexts=[
        spec for spec in ir.nodes[0].pipeline_node.contexts.contexts
        if spec.type.name in types])
    with metadata.Metadata(connection) as handle:
        context_lib.prepare_contexts(handle, specs)
        yield handle.store
