"""The same pipeline on Dagster: one op per node of the compiled pipeline IR, run by Dagster in
this process against a Dagster instance (its runs, per-op logs and tags in Dagster's UI), each op
launching its node with TFX's portable launcher, as LocalDagRunner does, against the shared MLMD
store. Caching, resolvers, the Cond around the Pusher and the gates behave as on Local.

Retries follow Dagster's retry policy, with backoff; the data gates' verdicts are not retried
(bad data stays bad however often it is read). Run ids start with "dagster-"; the Dagster run
carries the MLMD run id as its tag `tabflow/run_id`.

Work in progress (issue 23): the span sensor and the schedule (a Definitions module for
`dagster-daemon`), the Prefect flow, parity tests and docs are next.
"""
from typing import Optional

from tabflow.config import PipelineConfig
from runners import local_runner

RUN_ID_TAG = "tabflow/run_id"


def _deterministic_failures() -> tuple:
    from runners.airflow_launcher import deterministic_failures
    return deterministic_failures()


class DagsterEngine:
    """An IR runner for local_runner.run: `run_with_ir` executes the IR as a Dagster job."""

    def __init__(self, retries: int = 2, retry_delay_seconds: float = 30.0, instance=None):
        self.retries = retries
        self.retry_delay_seconds = retry_delay_seconds
        self.instance = instance

    def job(self, ir, run_ir=None, resource_defs=None):
        """A Dagster job with one op per node of `ir` (its shape). Each op launches its node of
        run_ir(context) (default: `ir` itself): the IR compiled for the run being executed."""
        import dagster as dg
        from tfx.orchestration import metadata
        from tfx.orchestration.local import runner_utils
        from tfx.orchestration.portable import launcher

        failures = _deterministic_failures()
        policy = dg.RetryPolicy(max_retries=self.retries, delay=self.retry_delay_seconds,
                                backoff=dg.Backoff.EXPONENTIAL)
        run_ir = run_ir or (lambda context: ir)
        required = {"tabflow_run"} if resource_defs else set()

        def launch(run, node_id, context):
            [node] = [n.pipeline_node for n in run.nodes
                      if n.pipeline_node.node_info.id == node_id]
            if node.execution_options.HasField("skip"):
                context.log.info(f"{node_id}: skipped (partial run)")
                return
            deployment = runner_utils.extract_local_deployment_config(run)
            connection = getattr(deployment.metadata_connection_config,
                                 deployment.metadata_connection_config.WhichOneof(
                                     "connection_config"))
            node_launcher = launcher.Launcher(
                pipeline_node=node, mlmd_connection=metadata.Metadata(connection),
                pipeline_info=run.pipeline_info, pipeline_runtime_spec=run.runtime_spec,
                executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
                custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id))
            try:
                node_launcher.launch()
            except failures as e:
                raise dg.Failure(description=str(e), allow_retries=False) from e

        def make_op(node):
            node_id = node.pipeline_node.node_info.id
            upstream = list(node.pipeline_node.upstream_nodes)

            @dg.op(name=node_id.replace(".", "_"),
                   ins={f"after_{i}": dg.In(dg.Nothing) for i in range(len(upstream))},
                   out=dg.Out(dg.Nothing), retry_policy=policy,
                   required_resource_keys=required, tags={"tfx/node_id": node_id})
            def run_node(context):
                launch(run_ir(context), node_id, context)
            return node_id, upstream, run_node

        ops = {node_id: (upstream, op) for node_id, upstream, op in
               (make_op(node) for node in ir.nodes)}

        @dg.graph(name=ir.pipeline_info.id.replace("-", "_"))
        def pipeline_graph():
            done = {}
            for node_id, (upstream, op) in ops.items():  # IR nodes are in topological order
                done[node_id] = op(**{f"after_{i}": done[u] for i, u in enumerate(upstream)})

        return pipeline_graph.to_job(executor_def=dg.in_process_executor,
                                     resource_defs=resource_defs or {})

    def run_with_ir(self, ir, run_options=None) -> None:
        import dagster as dg
        if run_options is not None:
            from tfx.orchestration.portable import partial_run_utils
            partial = run_options.partial_run
            partial_run_utils.mark_pipeline(ir, from_nodes=partial.from_nodes or None,
                                            to_nodes=partial.to_nodes or None,
                                            snapshot_settings=partial.snapshot_settings)
        run_id = ir.runtime_spec.pipeline_run_id.field_value.string_value
        instance = self.instance or dg.DagsterInstance.get()
        result = self.job(ir).execute_in_process(instance=instance,
                                                 tags={RUN_ID_TAG: run_id},
                                                 raise_on_error=False)
        if not result.success:
            failure = next((e for e in result.all_events if e.is_step_failure), None)
            data = failure.event_specific_data if failure is not None else None
            detail = ""
            if data is not None and data.user_failure_data is not None:
                detail = data.user_failure_data.description or ""  # a gate's verdict
            elif data is not None and data.error is not None:
                detail = data.error.message.strip()
            raise RuntimeError(f"Dagster run {result.run_id} failed"
                               + (f": {detail}" if detail else ""))


def run(config: PipelineConfig, resume: Optional[str] = None, wait_seconds: float = 0.0,
        instance=None) -> local_runner.RunResult:
    """The pipeline as a Dagster job on `instance` (default: DagsterInstance.get(), from
    $DAGSTER_HOME); everything else as local_runner.run."""
    import modules  # noqa: F401  sets Keras 2 before TensorFlow loads
    return local_runner.run(config, engine=DagsterEngine(instance=instance),
                            runner_name="dagster", resume=resume, wait_seconds=wait_seconds)
