"""The pipeline as a Dagster job: one op per node of the compiled pipeline IR, each launching
its node with TFX's portable launcher against the pipeline's MLMD store
(runners/orchestrated.py), so caching, resolvers, the Cond around the Pusher and the gates
behave as on Local.

The job's shape (ops and their order) comes from compiling the pipeline when the job is built;
each Dagster run compiles it again in the `tabflow_run` resource, with the data, schema and code
as they are then, under a new MLMD run id (`dagster-<time>`), which the resource adds to the
Dagster run as the tag `tabflow/run_id`. The resource holds the pipeline's run lock for the
run, and reports the run's end (alerts, metrics, OpenLineage) when it closes.

Retries follow Dagster's retry policy with exponential backoff (the retry settings of the
config's airflow section: one set of retry and schedule settings for every scheduler); a gate's
verdict on the data fails its op without a retry: bad data stays bad however often it is read.
TFX's log records of each node (redacted) are the op's log lines in Dagster's UI.

The ops run one at a time in the run's process (Dagster's in-process executor): the nodes share
the store and TensorFlow's state, as on Local.
"""
from tabflow.config import PipelineConfig

RUN_ID_TAG = "tabflow/run_id"
SPAN_TAG = "tabflow/span"
RESOURCE = "tabflow_run"


def op_name(node_id: str) -> str:
    return node_id.replace(".", "_").replace("-", "_")


def compiled_shape(config: PipelineConfig):
    """The pipeline's IR, compiled to read its nodes and edges (no run is recorded)."""
    from pipeline.inputs import gather
    from pipeline.pipeline import create_pipeline
    from runners.local_runner import metadata_connection
    from tabflow.compat.portable_run import compile_with_run_id
    return compile_with_run_id(create_pipeline(
        config, gather(config, "dagster"), metadata_connection=metadata_connection(config),
        runner="dagster"), "dagster-shape")


def _run_resource(expected_nodes: list):
    import dagster as dg
    from runners import local_runner, orchestrated

    @dg.resource(config_schema={
        "settings": dg.Field(
            dg.Permissive(), is_required=False, default_value={},
            description="settings for this run by flat name, as `tabflow config` prints them "
                        "(e.g. threshold: 0.8); they override the definitions' own"),
        "wait_seconds": dg.Field(
            float, is_required=False, default_value=0.0,
            description="while another run of the pipeline holds its run lock, wait up to "
                        "this long for it (default: fail at once, naming that run)")})
    def tabflow_run(init_context):
        run_config = orchestrated.run_config(
            init_context.resource_config["settings"],
            "Dagster run config resources.tabflow_run.config.settings")
        run = None
        try:
            with orchestrated.orchestrated_run(
                    run_config, "dagster",
                    init_context.resource_config["wait_seconds"]) as run:
                init_context.instance.add_run_tags(init_context.run_id, {RUN_ID_TAG: run.run_id})
                found = orchestrated.node_ids(run.ir)
                if found != expected_nodes:
                    raise ValueError(
                        f"this run's pipeline has the nodes {found}, the Dagster job "
                        f"{expected_nodes}: a setting changed the pipeline's shape; reload the "
                        "code location with that setting instead")
                _resume_a_reexecution(init_context, run, found)
                yield run
        except local_runner.PipelineFailed as e:
            if run is None or run.error is None:
                raise  # set-up failed: no op ran, the run's error says why
            # An op failed: its step already failed the Dagster run with the reason.
            init_context.log.error(str(e))
    return tabflow_run


def _resume_a_reexecution(init_context, run, nodes: list) -> None:
    """A re-execution of some of a Dagster run's steps (Dagster's "from failure" or a step
    selection) is TFX's partial run of this MLMD run: the selected nodes and what follows them
    run, the others' outputs are the parent run's."""
    from runners import orchestrated
    dagster_run = init_context.dagster_run
    steps = dagster_run.step_keys_to_execute
    if not dagster_run.parent_run_id or not steps or len(steps) == len(nodes):
        return
    parent = init_context.instance.get_run_by_id(dagster_run.parent_run_id)
    base = parent.tags.get(RUN_ID_TAG) if parent is not None else None
    if base is None:
        raise ValueError(f"Dagster run {dagster_run.parent_run_id} never started its MLMD run: "
                         "re-execute all its steps instead")
    node_of = {op_name(node_id): node_id for node_id in nodes}
    orchestrated.resume_from(run.ir, [node_of[step] for step in steps], base)
    init_context.log.info(f"re-executes {sorted(steps)} of MLMD run {base} (a TFX partial run)")


def build_job(config: PipelineConfig, shape=None):
    """The Dagster job of `config`'s pipeline (`shape`: its compiled IR, compiled here when not
    given)."""
    import dagster as dg
    from runners import orchestrated

    shape = shape if shape is not None else compiled_shape(config)
    failures = orchestrated.deterministic_failures()
    retry = config.airflow
    policy = dg.RetryPolicy(max_retries=retry.airflow_retries,
                            delay=retry.airflow_retry_delay_seconds,
                            backoff=(dg.Backoff.EXPONENTIAL if retry.airflow_exponential_backoff
                                     else None))

    def make_op(node):
        node_id = node.pipeline_node.node_info.id
        upstream = list(node.pipeline_node.upstream_nodes)

        @dg.op(name=op_name(node_id),
               ins={f"after_{op_name(u)}": dg.In(dg.Nothing) for u in upstream},
               out=dg.Out(dg.Nothing), retry_policy=policy,
               required_resource_keys={RESOURCE}, tags={"tfx/node_id": node_id},
               description=f"TFX node {node_id}")
        def run_node(context):
            run = getattr(context.resources, RESOURCE)
            try:
                with orchestrated.forwarded_logs(context.log):
                    if not orchestrated.launch(run.ir, node_id):
                        context.log.info(f"{node_id}: not part of this partial run")
            except failures as e:
                run.error = str(e)
                # Not retried; the description is the run's error in Dagster's UI.
                raise dg.Failure(description=str(e), allow_retries=False) from e
            except Exception as e:
                # Retried while the policy allows; the last attempt's error is the run's.
                run.error = str(e)
                raise
            run.error = None  # a retry succeeded
        return node_id, upstream, run_node

    ops = [make_op(node) for node in shape.nodes]  # the compiler's topological order

    @dg.graph(name=op_name(shape.pipeline_info.id),
              description=f"The TFX pipeline {shape.pipeline_info.id}, one op per node")
    def pipeline_graph():
        done = {}
        for node_id, upstream, op in ops:
            done[node_id] = op(**{f"after_{op_name(u)}": done[u] for u in upstream})

    return pipeline_graph.to_job(
        executor_def=dg.in_process_executor,
        resource_defs={RESOURCE: _run_resource([n for n, _, _ in ops])})


def run(config: PipelineConfig, settings=None, instance=None, wait_seconds: float = 0.0):
    """One run of the pipeline's Dagster job in this process (`tabflow run --runner dagster`),
    recorded in `instance` (default: the instance $DAGSTER_HOME names, else a temporary one).
    `settings`: the flags `config` was built with, which the run reads again.
    Returns local_runner.RunResult; raises local_runner.PipelineFailed when it fails."""
    import time
    from runners import local_runner
    import modules  # noqa: F401  sets Keras 2 before TensorFlow loads
    from runners.progress import logs_to_file
    start = time.monotonic()
    with logs_to_file(config.log_file):  # TensorFlow's import noise
        job = build_job(config)
    instance = instance or instance_or_none()
    result = job.execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"resources": {RESOURCE: {"config": {"wait_seconds": float(wait_seconds),
                                                        "settings": dict(settings or {})}}},
                    # Dagster's event lines are in its instance; the terminal shows progress.
                    "loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    # Tagged by the resource once the run had its MLMD id.
    run_id = instance.get_run_by_id(result.run_id).tags.get(RUN_ID_TAG)
    if not result.success:
        raise local_runner.PipelineFailed(
            run_id or f"(Dagster run {result.run_id})",
            local_runner.failed_node(config, run_id) if run_id else None,
            RuntimeError(_failure(result)))
    return local_runner.summarize(config, run_id, time.monotonic() - start)


def _failure(result) -> str:
    """The first failed step's reason, as Dagster's UI shows it."""
    for event in result.all_events:
        if event.is_step_failure:
            data = event.event_specific_data
            if data.user_failure_data is not None and data.user_failure_data.description:
                return data.user_failure_data.description
            if data.error is not None:
                return data.error.message.strip()
        if event.event_type_value == "RESOURCE_INIT_FAILURE" or \
                event.event_type_value == "PIPELINE_FAILURE":
            if getattr(event.event_specific_data, "error", None) is not None:
                return event.event_specific_data.error.message.strip()
    return f"Dagster run {result.run_id} failed"


def instance_or_none():
    """The Dagster instance $DAGSTER_HOME names, or a temporary one for this process."""
    import os
    import dagster as dg
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else \
        dg.DagsterInstance.ephemeral()
