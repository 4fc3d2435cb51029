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

`serve` serves the deployment `tabflow/<pipeline>` to a Prefect server (PREFECT_API_URL), on
airflow_schedule unless airflow_trigger is new_span; then it looks under data_root every
airflow_span_poll_seconds and starts one run of the deployment for each new span (the span is
the run's idempotency key, so a span starts one run however often it is seen). The look runs in
the serving process, not as a flow run: a process per look would import TFX each time.
"""
from typing import Any, Dict, Optional

from prefect import flow, get_run_logger, task
from prefect.task_runners import SequentialTaskRunner

FLOW_NAME = "tabflow"
RUN_ID_TAG = "tabflow_run_id"


def _config(settings: Optional[Dict[str, Any]]):
    from runners import orchestrated
    return orchestrated.run_config(settings, "Prefect flow parameter settings")


def _retry_unless_a_verdict(task, task_run, state) -> bool:  # noqa: F811  Prefect's names
    """Retry unless the failure is a data gate's verdict: bad data stays bad. Prefect calls it
    with the keywords task, task_run and state (any other name makes the check fail, and
    Prefect then does not retry at all)."""
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
            name=node_id, task_run_name=node_id, retries=retry.airflow_retries,
            retry_delay_seconds=delay,
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


def watch_spans(config, deployment: str, settings: Optional[Dict[str, Any]], stop,
                interval: float, say=print) -> None:
    """Until `stop` is set: every `interval` seconds, when a span newer than any the pipeline
    has ingested (MLMD) and any announced before has landed under data_root, starts a run of
    `deployment` for it, with the span as its idempotency key (a span starts one run, also
    across restarts of the watcher) and the tag span:<N>. A failed look is one line; the next
    look tries again."""
    from prefect.deployments import run_deployment
    from runners.airflow_trigger import last_ingested, newest_span
    announced = 0
    while True:
        try:
            newest = newest_span(config.data.data_root)
            done = max(announced, last_ingested(config) or 0)
            if newest is not None and newest > done:
                flow_run = run_deployment(
                    deployment, timeout=0, idempotency_key=f"span-{newest}", as_subflow=False,
                    tags=[f"span:{newest}"],
                    parameters={"settings": dict(settings)} if settings else None)
                announced = newest
                say(f"span {newest}: flow run {flow_run.name} of {deployment}")
        except Exception as e:  # noqa: BLE001  the watcher outlives a bad look
            say(f"WARNING: looking for new spans under {config.data.data_root} failed: {e}")
        if stop.wait(interval):
            return


def deployment(config):
    """The pipeline's runner deployment `tabflow/<pipeline>`, on airflow_schedule (as cron)
    unless airflow_trigger is new_span."""
    from prefect.deployments.runner import EntrypointType
    from tabflow.config.cron import as_cron
    schedule = config.airflow
    return tabflow_pipeline.to_deployment(
        name=config.pipeline_name, cron=as_cron(schedule.airflow_schedule)
        if schedule.airflow_trigger == "schedule" else None,
        entrypoint_type=EntrypointType.MODULE_PATH,
        description=f"The TFX pipeline {config.pipeline_name}")


def serve(config, settings: Optional[Dict[str, Any]] = None) -> None:
    """Serves the pipeline's deployment until interrupted (its flow runs run in processes of
    this one's) and, with airflow_trigger = new_span, watches for spans from a thread of this
    process. `settings` (by flat name) become the deployment's default parameters."""
    import threading
    from prefect import serve as prefect_serve
    served = deployment(config)
    if settings:
        served.parameters = {**served.parameters, "settings": dict(settings)}
    stop = threading.Event()
    if config.airflow.airflow_trigger == "new_span":
        threading.Thread(target=watch_spans, name="span-watcher", daemon=True, args=(
            config, f"{FLOW_NAME}/{config.pipeline_name}", settings, stop,
            config.airflow.airflow_span_poll_seconds,
            lambda line: print(line, flush=True))).start()
    try:
        prefect_serve(served)
    finally:
        stop.set()


def run(config, settings: Optional[Dict[str, Any]] = None, wait_seconds: float = 0.0):
    """One flow run in this process (`tabflow run --runner prefect`), recorded by the server
    PREFECT_API_URL names, else by a temporary one. `settings`: the flags `config` was built
    with, which the flow reads again. Returns local_runner.RunResult; raises
    local_runner.PipelineFailed when it fails."""
    import time
    import warnings
    from runners import local_runner
    # Prefect's temporary server reflects its SQLite schema on start: SQLAlchemy's notes on
    # the indexes it cannot reflect are no news to the person running the pipeline.
    warnings.filterwarnings("ignore", message="Skipped unsupported reflection")
    start = time.monotonic()
    run_id = tabflow_pipeline(settings=settings, wait_seconds=wait_seconds)
    return local_runner.summarize(config, run_id, time.monotonic() - start)
