"""The Vertex target's exit handler: a component Vertex AI Pipelines runs once the pipeline's
tasks have ended, whatever their state, with the pipeline's final status. It sends that status
to the alerts channels (tabflow/alerts/channels.py) from inside the pipeline's image; the secrets come
from that container's environment, the other alert settings are compiled in.

Vertex records the run's lineage in its own metadata service, not in the project's MLMD store,
so the message says whether the run succeeded or failed (and the platform's error), not
whether it pushed: that is in Vertex ML Metadata."""
from tfx import v1 as tfx

EXIT_HANDLER_ID = "NotifyOnExit"


@tfx.orchestration.experimental.exit_handler
def NotifyOnExit(final_status: tfx.dsl.components.Parameter[str],
                 pipeline_name: tfx.dsl.components.Parameter[str],
                 alerts_json: tfx.dsl.components.Parameter[str]) -> None:
    import json
    import logging

    from tabflow.alerts import channels
    from tabflow.alerts.outcome import from_final_status
    from tabflow.config import AlertsConfig
    alerts = AlertsConfig(**json.loads(alerts_json))
    alerts.validate()
    results = channels.deliver(from_final_status(final_status, pipeline_name), alerts)
    for channel, problem in results.items():
        if problem is not None:
            logging.warning("exit handler: could not notify via %s: %s", channel, problem)


def exit_handler(config):
    """The exit-handler node for `config`: its non-secret alert settings compiled in."""
    import dataclasses
    import json
    return NotifyOnExit(final_status=tfx.orchestration.experimental.FinalStatusStr(),
                        pipeline_name=config.pipeline_name,
                        alerts_json=json.dumps(dataclasses.asdict(config.alerts),
                                               sort_keys=True)).with_id(EXIT_HANDLER_ID)
