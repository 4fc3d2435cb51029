"""What every runner does when a run ends: read the run's review from MLMD once, send its
outcome to the alerts channels (alerts/), publish its metrics and send its OpenLineage events
(monitoring/). Local and Beam call it from `tabflow run`, Airflow from the DAG's
callbacks (runners/airflow_dag.py).
Never raises: the run's own result stands whatever happens here."""
import logging
from typing import Dict, Optional

log = logging.getLogger(__name__)


def _summary(config, run_id: str):
    """(the store, the run's review: the one summary alerts, metrics and OpenLineage read); the
    review is None when MLMD has no such run (it failed before it was recorded), and both are
    None when the store cannot be opened."""
    from tabflow.metadata.errors import NotFound, StoreError
    from tabflow.metadata.store import open_store
    from tabflow.review.collect import collect
    try:
        store = open_store(config.store)
    except StoreError:
        return None, None
    try:
        return store, collect(store, config.pipeline_name, run_id)
    except (NotFound, StoreError):
        return store, None


def report_run_end(config, run_id: str, error: Optional[str] = None,
                   failed_component: Optional[str] = None) -> Dict[str, Optional[str]]:
    """{target (webhook, email, textfile, pushgateway, openlineage file / http): None if
    delivered, else the error}.
    `failed_component`: the component the orchestrator saw fail, for runners whose MLMD
    records leave a failed execution RUNNING (Airflow's legacy launcher)."""
    from tabflow.alerts import channels
    from tabflow.alerts.notify import notify_run
    from tabflow.monitoring.metrics import publish_run
    from tabflow.monitoring.openlineage import emit_run
    from tabflow.config import METRICS_OFF
    from tabflow.redaction import redact_text
    # The error goes out in messages, events and metrics: no secret it quotes goes with it.
    error = redact_text(error) if error else error
    try:
        wanted = channels.channels(config.alerts) or config.metrics.pushgateway_url or \
            config.metrics.metrics_textfile != METRICS_OFF or \
            config.openlineage.openlineage_file or config.openlineage.openlineage_url
        # The store is opened once, and the run read once, for every consumer below.
        store, review = _summary(config, run_id) if wanted else (None, None)
        results = notify_run(config, run_id, error, review=review,
                             failed_component=failed_component)
        if review is not None:
            results.update(publish_run(config, run_id, review=review, store=store))
            results.update(emit_run(config, run_id, error, failed_component, store=store))
    except Exception as e:  # noqa: BLE001 - the run's own result must stand
        log.exception("reporting the end of run %s failed", run_id)
        return {"run end": f"{type(e).__name__}: {e}"}
    for target, problem in results.items():
        if problem is not None:
            log.warning("run %s: could not deliver to %s: %s", run_id, target, problem)
    return results
