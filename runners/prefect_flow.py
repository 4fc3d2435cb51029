"""The pipeline as a Prefect 2 flow (docs/prefect.md): one task per node of the compiled
pipeline IR, each launching its node with TFX's portable launcher against the pipeline's MLMD
store (runners/orchestrated.py), so caching, resolvers, the Cond around the Pusher and the gates
behave as on Local. Tasks are submitted in the compiler's topological order, each waiting for
its upstream nodes, and run one at a time (the nodes share the store and TensorFlow's state, as
on Local).

Each flow run compiles the pipeline with the data, schema and code as they are then, under a
new MLMD run id (`prefect-<time>`), which names the flow run's tag `tabflow_run_id:<id>`. Tasks
retry with exponential backoff (the retry settings of the config's airflow section: one set of
retry and schedule settings for every scheduler), except on a gate's verdict on the data.

`serve` serves two deployments to a Prefect server (PREFECT_API_URL): `tabflow/<pipeline>`,
on airflow_schedule unless airflow_trigger is new_span, and `tabflow-spans/<pipeline>`, which
looks under data_root every airflow_span_poll_seconds and starts one run of the first for each
new span (the span is the run's idempotency key, so a span starts one run however often it is
seen).
"""
from typing import Any, Dict, Optional

from prefect import flow, get_run_logger, task
from prefect.task_runners import SequentialTaskRunner

FLOW_NAME = "tabflow"
WATCHER_NAME = "tabflow-spans"
RUN_ID_TAG = "tabflow_run_id"


def _config(settings: Optional[Dict[str, Any]]):
    from runners import orchestrated
    return orchestrated.run_config(settings, "Prefect flow parameter settings")


def _retry_unless_a_verdict(task_obj, task_run, state) -> bool:
    """Retry unless the failure is a data gate's verdict: bad data stays bad."""
    from runners.orchestrated import deterministic_failures
    try:
        state.result()
    except deterministic_failures():
        return False
    except Exception:  # noqa: BLE001  anything else may be transient
        return True
    return True


@task(retry_condition_fn=_retry_unless_a_verdict)
def run_node(run, node_id: str) -> bool:
    from runners import orchestrated
    with orchestrated.forwarded_logs(get_run_logger()):
        return orchestrated.launch(run.ir, node_id)


@flow(name=FLOW_NAME, task_runner=SequentialTaskRunner(), validate_parameters=True)
def tabflow_pipeline(settings: Optional[Dict[str, Any]] = None, wait_seconds: float = 0.0) -> str:
    """One run of the pipeline; `settings` override the configuration for this run, by flat
    name (as `tabflow config` prints them); while another run of the pipeline holds its run
    lock, wait up to `wait_seconds` for it. Returns the MLMD run id."""
    import modules  # noqa: F401  sets Keras 2 before TensorFlow loads
    from prefect.context import get_run_context
    from runners import orchestrated
    config = _config(settings)
    retry = config.airflow
    delay = orchestrated.retry_delays(retry)
    with orchestrated.orchestrated_run(config, "prefect", wait_seconds) as run:
        _tag_flow_run(get_run_context().flow_run.id, f"{RUN_ID_TAG}:{run.run_id}")
        futures = submit_nodes(run.ir, lambda node_id, wait_for: run_node.with_options(
            name=node_id, retries=retry.airflow_retries, retry_delay_seconds=delay,
        ).submit(run, node_id, wait_for=wait_for))
        for future in futures.values():
            future.result()  # the first failure ends the run, with its reason
    return run.run_id


def submit_nodes(ir, submit) -> dict:
    """{node id: submit(node id, the futures of its upstream nodes)}, in the compiler's
    topological order."""
    futures = {}
    for node in ir.nodes:
        futures[node.pipeline_node.node_info.id] = submit(
            node.pipeline_node.node_info.id,
            [futures[u] for u in node.pipeline_node.upstream_nodes])
    return futures


def _tag_flow_run(flow_run_id, tag: str) -> None:
    """Adds `tag` to the flow run (Prefect 2's synchronous client cannot update a flow run:
    the asynchronous one does, in a thread of its own, away from the flow engine's loop)."""
    import asyncio
    import concurrent.futures
    from prefect.client.orchestration import get_client

    async def update():
        async with get_client() as client:
            flow_run = await client.read_flow_run(flow_run_id)
            await client.update_flow_run(flow_run_id, tags=[*flow_run.tags, tag])

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, update()).result()


@flow(name=WATCHER_NAME)
def watch_spans(deployment: str, settings: Optional[Dict[str, Any]] = None) -> Optional[str]:
    """Starts a run of `deployment` when a span newer than any the pipeline has ingested (MLMD)
    lands under data_root; the span is the run's idempotency key."""
    from prefect.deployments import run_deployment
    from runners.airflow_trigger import last_ingested, newest_span
    config = _config(settings)
    newest = newest_span(config.data.data_root)
    done = last_ingested(config) or 0
    if newest is None or newest <= done:
        get_run_logger().info("no span newer than %s under %s", done, config.data.data_root)
        return None
    flow_run = run_deployment(deployment, timeout=0, idempotency_key=f"span-{newest}",
                              as_subflow=False, tags=[f"span:{newest}"],
                              parameters={"settings": settings} if settings else None)
    get_run_logger().info("span %s: flow run %s", newest, flow_run.name)
    return str(flow_run.id)


def deployments(config):
    """The pipeline's deployment and its span watcher's (runner deployments for `serve`)."""
    from prefect.deployments.runner import EntrypointType
    from tabflow.config.cron import as_cron
    schedule = config.airflow
    pipeline = tabflow_pipeline.to_deployment(
        name=config.pipeline_name, cron=as_cron(schedule.airflow_schedule)
        if schedule.airflow_trigger == "schedule" else None,
        entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"The TFX pipeline {config.pipeline_name}")
    out = [pipeline]
    if schedule.airflow_trigger == "new_span":
        out.append(watch_spans.to_deployment(
            name=config.pipeline_name, interval=schedule.airflow_span_poll_seconds,
            parameters={"deployment": f"{FLOW_NAME}/{config.pipeline_name}"},
            entrypoint_type=EntrypointType.MODULE_PATH,
            description=f"a run of {FLOW_NAME}/{config.pipeline_name} per new span under "
                        f"{config.data.data_root}"))
    return out


def serve(config, settings: Optional[Dict[str, Any]] = None) -> None:
    """Serves the deployments until interrupted; their flow runs run in processes of this
    one's. `settings` (by flat name) become the pipeline deployment's default parameters."""
    from prefect import serve as prefect_serve
    served = deployments(config)
    if settings:
        for deployment in served:
            deployment.parameters = {**deployment.parameters, "settings": dict(settings)}
    prefect_serve(*served)


def run(config, settings: Optional[Dict[str, Any]] = None, wait_seconds: float = 0.0):
    """One flow run in this process (`tabflow run --runner prefect`), recorded by the server
    PREFECT_API_URL names, else by a temporary one. `settings`: the flags `config` was built
    with, which the flow reads again. Returns local_runner.RunResult; raises
    local_runner.PipelineFailed when it fails."""
    import time
    from runners import local_runner
    start = time.monotonic()
    run_id = tabflow_pipeline(settings=settings, wait_seconds=wait_seconds)
    return local_runner.summarize(config, run_id, time.monotonic() - start)
