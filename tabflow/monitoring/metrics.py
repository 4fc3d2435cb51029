"""A run's Prometheus metrics, read from MLMD and its artifacts through the run's review.

Gauges, each labelled with the pipeline:
  tabflow_run_success                 1 when the run completed, 0 when it failed/stopped
  tabflow_run_info{run_id,status,runner}  1 (the run's identity and status)
  tabflow_run_duration_seconds / _run_end_timestamp_seconds
  tabflow_component_seconds{component,state}
  tabflow_components{state}           executed / cached / failed components (the resolvers,
                                      which run on every run, left out)
  tabflow_runs_total{status}          every run of the pipeline in the store, by status
  tabflow_examples{split}             rows per split (StatisticsGen)
  tabflow_anomalies                   ExampleValidator's anomalies
  tabflow_drift_distance{feature,split,measure} / _drift_threshold{...}
  tabflow_model_headline{metric,model,slice}  the test value of the metric the Evaluator gated
                                      on (auc, accuracy, root_mean_squared_error), candidate
                                      and baseline, overall and within each gated slice
  tabflow_blessed                     1 blessed, 0 not (absent without an evaluation)
  tabflow_span
  tabflow_last_push_timestamp_seconds the end of the newest run that pushed a model

The registry is written atomically to a textfile (prometheus_client.write_to_textfile) and,
with a Pushgateway URL, pushed under job `pushgateway_job` grouped by pipeline (the newest
run replaces the previous one's values).
"""
import datetime
import logging
import os
from typing import Dict, Optional

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from tabflow import contract as C
from tabflow.redaction import mask_url, redact_text

PREFIX = "tabflow_"
log = logging.getLogger(__name__)

_STATE_GROUPS = {"COMPLETE": "executed", "CACHED": "cached", "FAILED": "failed"}


def _gauge(registry, name: str, doc: str, labels=()) -> Gauge:
    return Gauge(PREFIX + name, doc, ["pipeline", *labels], registry=registry)


def run_metrics(review: dict, runs_by_status: Dict[str, int],
                last_push_end: Optional[float]) -> CollectorRegistry:
    registry = CollectorRegistry()
    pipeline = review["pipeline"]
    run = review["run"]

    _gauge(registry, "run_success", "1 when the run completed, 0 when it failed or stopped") \
        .labels(pipeline).set(1 if run["status"] == "COMPLETE" else 0)
    _gauge(registry, "run_info", "the newest run: id, status and runner",
           ("run_id", "status", "runner")).labels(pipeline, run["id"], run["status"],
                                                  run["runner"]).set(1)
    if run["seconds"] is not None:
        _gauge(registry, "run_duration_seconds", "wall seconds of the run") \
            .labels(pipeline).set(run["seconds"])
    if run.get("ended"):
        _gauge(registry, "run_end_timestamp_seconds", "when the run ended (Unix time)") \
            .labels(pipeline).set(datetime.datetime.fromisoformat(run["ended"]).timestamp())

    seconds = _gauge(registry, "component_seconds", "seconds per component execution",
                     ("component", "state"))
    counts = {"executed": 0, "cached": 0, "failed": 0}
    for row in review["components"]:
        if row["seconds"] is not None:
            seconds.labels(pipeline, row["node"], row["state"]).set(row["seconds"])
        group = _STATE_GROUPS.get(row["state"])
        if group and row["node"] not in C.RESOLVERS:
            counts[group] += 1
    components = _gauge(registry, "components", "component executions by outcome", ("state",))
    for state, n in counts.items():
        components.labels(pipeline, state).set(n)

    totals = _gauge(registry, "runs_total", "runs of the pipeline in the store, by status",
                    ("status",))
    for status, n in sorted(runs_by_status.items()):
        totals.labels(pipeline, status).set(n)

    data = review.get("data") or {}
    if data.get("span") is not None:
        _gauge(registry, "span", "the span the run read").labels(pipeline).set(data["span"])
    if data.get("summary"):
        examples = _gauge(registry, "examples", "rows per split", ("split",))
        for split, summary in sorted(data["summary"].items()):
            examples.labels(pipeline, split).set(summary["examples"])
    if data.get("anomalies") is not None:
        _gauge(registry, "anomalies", "anomalies ExampleValidator found").labels(pipeline).set(
            sum(len(lines) for lines in data["anomalies"].values()))
    report = ((data.get("drift") or {}).get("report") or {})
    if report.get("features"):
        distance = _gauge(registry, "drift_distance", "drift against the baseline span",
                          ("feature", "split", "measure"))
        threshold = _gauge(registry, "drift_threshold", "the drift gate's threshold",
                           ("feature", "split", "measure"))
        for row in report["features"]:
            key = (pipeline, row["feature"], row["split"], row["measure"])
            distance.labels(*key).set(row["distance"])
            threshold.labels(*key).set(row["threshold"])

    evaluation = review.get("evaluation")
    if evaluation is not None:
        headline = evaluation.get("headline") or {}
        metric = headline.get("metric")
        if metric:
            gauge = _gauge(registry, "model_headline", "test value of the gated metric",
                           ("metric", "model", "slice"))
            for model in ("candidate", "baseline"):
                value = (evaluation["overall"].get(model) or {}).get(metric)
                if value is not None:
                    gauge.labels(pipeline, metric, model, "overall").set(value)
                for row in evaluation.get("gated_slices") or []:
                    value = (row.get(model) or {}).get(metric)
                    if value is not None:
                        gauge.labels(pipeline, metric, model, row["slice"]).set(value)
        if evaluation.get("blessed") is not None:
            _gauge(registry, "blessed", "1 when the Evaluator blessed the model") \
                .labels(pipeline).set(1 if evaluation["blessed"] else 0)
    if last_push_end is not None:
        _gauge(registry, "last_push_timestamp_seconds",
               "end of the newest run that pushed a model (Unix time)") \
            .labels(pipeline).set(last_push_end)
    return registry


def publish(registry: CollectorRegistry, textfile: str, pushgateway_url: str, job: str,
            pipeline: str, timeout: float) -> Dict[str, Optional[str]]:
    """Writes the textfile (when set) and pushes (when a URL is set); {target: error or None}.
    Never raises."""
    results: Dict[str, Optional[str]] = {}
    if textfile:
        try:
            os.makedirs(os.path.dirname(textfile) or ".", exist_ok=True)
            write_to_textfile(textfile, registry)
            results["textfile"] = None
        except OSError as e:
            results["textfile"] = f"{type(e).__name__}: {e}"
    if pushgateway_url:
        try:
            push_to_gateway(pushgateway_url, job=job, registry=registry,
                            grouping_key={"pipeline": pipeline}, timeout=timeout)
            results["pushgateway"] = None
        except Exception as e:  # noqa: BLE001 - metrics must never fail the run
            error = redact_text(f"{type(e).__name__}: {e}")
            log.warning("pushing metrics to %s failed: %s", mask_url(pushgateway_url), error)
            results["pushgateway"] = error
    return results


def publish_run(config, run_id: str, review: Optional[dict] = None,
                store=None) -> Dict[str, Optional[str]]:
    """Metrics of one run to the textfile and the Pushgateway the config names; never raises.
    `review` and `store`: the run's summary and the open store, when the caller has them."""
    from tabflow.config import METRICS_OFF
    metrics = config.metrics
    textfile = "" if metrics.metrics_textfile == METRICS_OFF else metrics.metrics_textfile
    if not (textfile or metrics.pushgateway_url):
        return {}
    try:
        from tabflow.metadata import runs
        from tabflow.metadata.store import open_store
        store = store or open_store(config.store)
        if review is None:
            from tabflow.review.collect import collect
            review = collect(store, config.pipeline_name, run_id)
        every = runs.list_runs(store, config.pipeline_name)
        by_status: Dict[str, int] = {}
        for info in every:
            by_status[info.status] = by_status.get(info.status, 0) + 1
        pushed = [info.ended.timestamp() for info in every if info.pushed and info.ended]
        registry = run_metrics(review, by_status, max(pushed) if pushed else None)
    except Exception as e:  # noqa: BLE001 - metrics must never fail the run
        log.exception("could not gather the metrics of run %s", run_id)
        return {"metrics": f"{type(e).__name__}: {e}"}
    return publish(registry, textfile, metrics.pushgateway_url,
                   metrics.pushgateway_job, config.pipeline_name, metrics.pushgateway_timeout)
