"""The same pipeline as a Prefect 2 flow: one task per node of the compiled pipeline IR, each
launching its node with TFX's portable launcher against the shared MLMD store (as
LocalDagRunner does), submitted with its upstream tasks as `wait_for`. Tasks retry with
exponential backoff; the data gates' verdicts are not retried. The flow run is named after the
MLMD run id.

Work in progress (issue 23): a deployment with a schedule, span arrival, tests against a local
Prefect server and docs are next.
"""
from prefect import flow, get_run_logger, task
from prefect.task_runners import SequentialTaskRunner
from prefect.tasks import exponential_backoff

from tabflow.config import PipelineConfig


def _launch(run, node_id: str) -> None:
    from tfx.orchestration import metadata
    from tfx.orchestration.local import runner_utils
    from tfx.orchestration.portable import launcher
    [node] = [n.pipeline_node for n in run.nodes if n.pipeline_node.node_info.id == node_id]
    if node.execution_options.HasField("skip"):
        return
    deployment = runner_utils.extract_local_deployment_config(run)
    connection = getattr(deployment.metadata_connection_config,
                         deployment.metadata_connection_config.WhichOneof("connection_config"))
    launcher.Launcher(
        pipeline_node=node, mlmd_connection=metadata.Metadata(connection),
        pipeline_info=run.pipeline_info, pipeline_runtime_spec=run.runtime_spec,
        executor_spec=runner_utils.extract_executor_spec(deployment, node_id),
        custom_driver_spec=runner_utils.extract_custom_driver_spec(deployment, node_id)).launch()


def _not_a_gate_verdict(task_obj, task_run, state) -> bool:
    """Retry unless the failure is a data gate's verdict: bad data stays bad."""
    from runners.airflow_launcher import deterministic_failures
    try:
        state.result()
    except deterministic_failures():
        return False
    except Exception:  # noqa: BLE001  anything else may be transient
        return True
    return True


def pipeline_flow(config: PipelineConfig):
    retries = config.airflow.airflow_retries
    delay = config.airflow.airflow_retry_delay_seconds

    @task(retries=retries, retry_delay_seconds=exponential_backoff(backoff_factor=delay),
          retry_condition_fn=_not_a_gate_verdict)
    def run_node(run, node_id: str) -> None:
        get_run_logger().info("launching %s", node_id)
        _launch(run, node_id)

    # One node at a time, as on Local: the launchers share the store and TensorFlow's state.
    @flow(name=config.pipeline_name, task_runner=SequentialTaskRunner())
    def tabflow_pipeline() -> str:
        from runners import local_runner
        from runners.progress import logs_to_file
        from tabflow.metadata import run_lock, runs
        local_runner.check_outputs(config)
        run_id = local_runner.new_run_id("prefect")
        with run_lock.held(config.store, config.pipeline_name, f"run {run_id}",
                           on_renew=lambda store: runs.renew_run_lease(
                               store, run_id, run_lock.LEASE_SECONDS)):
            with logs_to_file(config.log_file) as terminal:
                with local_runner.prepared_run(config, "prefect", run_id, terminal) as ir:
                    futures = {}
                    for node in ir.nodes:  # topological order
                        node_id = node.pipeline_node.node_info.id
                        futures[node_id] = run_node.with_options(name=node_id).submit(
                            ir, node_id, wait_for=[futures[u] for u in
                                                   node.pipeline_node.upstream_nodes])
                    for future in futures.values():
                        future.result()  # raises the first failure
        return run_id

    return tabflow_pipeline
