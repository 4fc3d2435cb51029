"""What the health page shows, read from MLMD through the metadata layer and from the artifact
files it names (TFMA's metrics, the drift gate's record); no TensorFlow.

Per run (the newest `newest`): status, duration, span, pushed, seconds per component, cache
hit rate, the test value of the headline metric (the one the Evaluator gated on) and blessing;
per span: the headline of its newest evaluation against the threshold, and each feature's drift
distance against its threshold; and every push, promote and rollback of the serving folder.
"""
import datetime
from typing import Dict, List, Optional

from tabflow.artifacts import evaluation as tfma_files
from tabflow.artifacts.drift import read_drift_report
from tabflow.metadata import runs
from tabflow import contract as C
from tabflow.metadata import facts

DEFAULT_RUNS = 60


def _evaluation(record) -> Optional[dict]:
    """The headline metric of a run's Evaluator execution (name, title, direction, threshold),
    its overall candidate value and the blessing; None without an evaluation."""
    [evaluation] = record.outputs.get(C.EVALUATION_KEY) or [None]
    if evaluation is None:
        return None
    try:
        overall = tfma_files.overall_metrics(evaluation.uri)
        headline = tfma_files.headline(evaluation.uri) or {}
    except (OSError, ValueError):  # files removed by gc, or unreadable: say so, go on
        return {"metric": None, "title": None, "higher_is_better": None, "value": None,
                "threshold": None, "blessed": None, "files": False}
    [blessing] = record.outputs.get(C.BLESSING_KEY) or [None]
    blessed = facts.blessed(blessing)
    metric = headline.get("metric")
    return {"metric": metric, "title": headline.get("title"),
            "higher_is_better": headline.get("higher_is_better"),
            "value": overall.get("candidate", {}).get(metric) if metric else None,
            "threshold": headline.get("threshold"), "blessed": blessed, "files": True}


def _drift(record) -> List[dict]:
    [report] = record.outputs.get(C.DRIFT_REPORT_KEY) or [None]
    if report is None:
        return []
    try:
        found = read_drift_report(report.uri) or {}
    except (OSError, ValueError):
        return []
    return found.get("features", [])


def collect(store, pipeline_name: str, serving_dir: Optional[str] = None,
            newest: int = DEFAULT_RUNS) -> dict:
    infos = runs.list_runs(store, pipeline_name, newest)
    out_runs = []
    headline_by_span: Dict[int, dict] = {}
    drift_by_span: Dict[int, Dict[tuple, dict]] = {}
    for info in infos:
        records = runs.run_executions(store, pipeline_name, info.run_id)
        components, executed, cached = {}, 0, 0
        evaluation = None
        for record in records:
            if record.node_id in C.RESOLVERS:
                continue
            components[record.node_id] = {"state": record.state, "seconds": record.seconds}
            executed += record.state == "COMPLETE"
            cached += record.state == "CACHED"
            if record.node_id == C.EVALUATOR:
                evaluation = _evaluation(record)
            if record.node_id == C.DRIFT_GATE and info.span is not None:
                for row in _drift(record):
                    key = (row["feature"], row["split"], row["measure"])
                    drift_by_span.setdefault(info.span, {})[key] = row
        if evaluation is not None and evaluation["value"] is not None and info.span is not None:
            headline_by_span[info.span] = {**evaluation, "run_id": info.run_id}
        out_runs.append({
            "run_id": info.run_id, "runner": info.runner, "status": info.status,
            "started": info.started.isoformat(timespec="seconds"),
            "seconds": info.seconds, "span": info.span, "pushed": info.pushed,
            "components": components,
            "cache_hit_rate": cached / (executed + cached) if executed + cached else None,
            "evaluation": evaluation,
            "failed_at": [n for n, c in components.items() if c["state"] == "FAILED"],
        })
    events = []
    if serving_dir:
        from tabflow.registry import catalog, serving
        if serving.is_local(serving_dir):
            events = catalog.history(store, serving_dir)
    return {
        "pipeline": pipeline_name,
        "runs": out_runs,
        "total_runs": runs.count_runs(store, pipeline_name),
        "headline_by_span": [{"span": span, **headline_by_span[span]}
                             for span in sorted(headline_by_span)],
        "drift_by_span": {span: sorted(rows.values(), key=lambda r: (r["feature"], r["split"]))
                          for span, rows in sorted(drift_by_span.items())},
        "registry_events": events,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
