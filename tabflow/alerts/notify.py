"""Notify about one finished run: read its outcome from MLMD and deliver it. Runners call
`notify_run` after a run ends (Local and Beam from `tabflow run`, Airflow from its
callbacks); `tabflow notify` sends it again for any past run."""
import logging
from typing import Dict, Mapping, Optional

from tabflow.alerts import channels as ch
from tabflow.alerts.outcome import Outcome, from_review
from tabflow.metadata.errors import NotFound, StoreError

log = logging.getLogger(__name__)


def outcome_of(config, run_id: str, error: Optional[str] = None,
               review: Optional[dict] = None, failed_component: Optional[str] = None) -> Outcome:
    if review is None:
        from tabflow.metadata.store import open_store
        from tabflow.review.collect import collect
        review = collect(open_store(config.store), config.pipeline_name, run_id)
    return from_review(review, error=error, failed_component=failed_component)


def set_up_failure(config, run_id: str, error: str) -> Outcome:
    """A run that failed before MLMD recorded it (the pipeline could not be built)."""
    return Outcome(kind="failed", pipeline=config.pipeline_name, run_id=run_id, runner="local",
                   title=f"{config.pipeline_name}: run FAILED before any component ran",
                   reasons=error.strip().splitlines()[:1], facts={"error": error})


def notify_run(config, run_id: str, error: Optional[str] = None,
               environ: Optional[Mapping[str, str]] = None,
               review: Optional[dict] = None,
               failed_component: Optional[str] = None) -> Dict[str, Optional[str]]:
    """Delivers the run's outcome on every configured channel; {channel: error or None}.
    Reads nothing when no channel is configured. Never raises."""
    if not ch.channels(config.alerts, environ):
        return {}
    try:
        try:
            outcome = outcome_of(config, run_id, error, review, failed_component)
        except (NotFound, StoreError):  # it failed before MLMD recorded the run
            if error is None:
                raise
            outcome = set_up_failure(config, run_id, error)
        return ch.deliver(outcome, config.alerts, environ)
    except Exception as e:  # noqa: BLE001 - the run's own result must stand
        log.exception("could not build the notification for run %s", run_id)
        return {"outcome": f"{type(e).__name__}: {e}"}
