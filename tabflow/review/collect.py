"""Everything a model review shows, gathered for one run from MLMD and the artifacts it names.

The result is plain JSON-ready data (the HTML page, the notebook and `report --json` all render
it). Reads ml_metadata, protobuf and artifact files only: no TensorFlow, TFX or TFMA import.
"""
import datetime
from typing import Callable, Dict, List, Optional

from tabflow.artifacts import anomalies, evaluation
from tabflow.artifacts.drift import read_drift_report
from tabflow.artifacts.errors import CorruptRecord
from tabflow.artifacts.statistics import statistics_summary
from tabflow.lineage import render
from tabflow.metadata import graph
from tabflow.metadata.artifacts import baseline_model, describe, describe_in_run, evaluated_splits
from tabflow.metadata.graph import Graph, custom
from tabflow.metadata.provenance import run_provenance
from tabflow.metadata.runs import executions_by_node, list_runs, node_output, resolve_run, run_graph
from tabflow import contract as C
from tabflow.metadata import facts


def _seconds(execution) -> Optional[float]:
    if not execution.last_update_time_since_epoch:
        return None
    return (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000.0


def components_table(g: Graph, nodes: Dict[str, int]) -> List[dict]:
    rows = []
    for node, execution_id in sorted(nodes.items(), key=lambda item: (
            g.executions[item[1]].create_time_since_epoch, item[1])):
        execution = g.executions[execution_id]
        rows.append({"node": node, "execution_id": execution_id,
                     "state": g.state(execution_id), "seconds": _seconds(execution)})
    return rows


def _slices(entries: List[dict], columns: List[str]) -> Dict[str, List[dict]]:
    """{column: [{"value", "candidate", "baseline"}]} for the columns the evaluation was sliced
    by, values in natural order (numbers numerically). A gated slice of a column the report does
    not show is in the gated slices only."""
    out: Dict[str, List[dict]] = {column: [] for column in columns}
    for entry in entries:
        if entry["slice"] is None or entry["slice"][0] not in out:
            continue
        column, value = entry["slice"]
        out[column].append({"value": value, "candidate": entry["metrics"]["candidate"],
                            "baseline": entry["metrics"]["baseline"]})

    def natural(row):
        try:
            return (0, float(row["value"]), "")
        except ValueError:
            return (1, 0.0, row["value"])

    return {column: sorted(rows, key=natural) for column, rows in out.items()}


def _named_slices(entries: List[dict]) -> Dict[str, dict]:
    """{"column=value": metrics} of every single slice."""
    return {f"{e['slice'][0]}={e['slice'][1]}": e["metrics"]
            for e in entries if e["slice"] is not None}


def _gated_slices(thresholds: List[dict], entries: List[dict]) -> List[dict]:
    """The slices a threshold names, in the config's order, with their metrics:
    [{"slice": "column=value", "candidate", "baseline", "diff"}]."""
    named = _named_slices(entries)
    texts = dict.fromkeys(text for t in thresholds for text in t["slices"] if text in named)
    return [{"slice": text, **named[text]} for text in texts]


def _threshold_checks(thresholds: List[dict], overall: dict,
                      entries: Optional[List[dict]] = None) -> List[dict]:
    """Each configured threshold on the overall slice, or on one named slice ("column=value"),
    against that slice's values: the report shows the numbers behind TFMA's verdict, which
    stays the authority (validation)."""
    checks = []
    named = _named_slices(entries or [])
    for t in thresholds:
        if "overall" in t["slices"] or "all slices" in t["slices"]:
            checks += _checks_of(t, t["metric"], overall)
        else:
            for text in t["slices"]:
                if text in named:
                    checks += _checks_of(t, f"{t['metric']} ({text})", named[text])
    return checks


def _checks_of(t: dict, metric: str, metrics: dict) -> List[dict]:
    checks = []
    candidate, diff = metrics.get("candidate", {}), metrics.get("diff", {})
    value = candidate.get(t["metric"])
    if t["lower_bound"] is not None or t["upper_bound"] is not None:
        ok = value is not None and \
            (t["lower_bound"] is None or value >= t["lower_bound"]) and \
            (t["upper_bound"] is None or value <= t["upper_bound"])
        bound = " and ".join(
            text for text in (
                f">= {t['lower_bound']:g}" if t["lower_bound"] is not None else "",
                f"<= {t['upper_bound']:g}" if t["upper_bound"] is not None else "")
            if text)
        checks.append({"metric": metric, "kind": "value", "rule": bound,
                       "value": value, "passed": ok})
    if t["change_absolute"] is not None or t["change_relative"] is not None:
        change = diff.get(t["metric"])
        higher = t["direction"] != "LOWER_IS_BETTER"
        ok = None  # no baseline: TFMA skips change thresholds
        if change is not None and t["change_absolute"] is not None:
            ok = change >= t["change_absolute"] if higher else change <= t["change_absolute"]
        rule = (f"change vs baseline {'>=' if higher else '<='} "
                f"{t['change_absolute']:g}" if t["change_absolute"] is not None
                else f"relative change {t['change_relative']:g}")
        checks.append({"metric": metric, "kind": "change", "rule": rule,
                       "value": change, "passed": ok})
    return checks


def _with_inputs(store, g: Graph, execution: int, artifact_id: int) -> int:
    """The execution, or, for a node a partial run (`run --resume`) reused, the one that
    produced the artifact: TFX records the reused node as a CACHED execution with outputs only,
    so its inputs (the model, the baseline) are on the original execution."""
    if g.inputs(execution):
        return execution
    producer = g.producer(artifact_id)
    if producer is None:
        return execution
    graph.load_executions(store, [producer], graph=g)
    return producer


class _Files:
    """Reads artifact files for one review. A corrupt file is noted in `unreadable` and its
    part left empty, so the run-end steps (alerts, metrics) still report the run; `report`
    refuses to publish a review with unreadable files."""

    def __init__(self):
        self.unreadable: List[str] = []

    def read(self, read: Callable, default=None):
        try:
            return read()
        except CorruptRecord as e:
            self.unreadable.append(str(e))
            return default


def _evaluation_section(store, g: Graph, nodes: Dict[str, int], run_id: str,
                        files: _Files, provenance: dict) -> Optional[dict]:
    evaluator = nodes.get(C.EVALUATOR)
    evaluation_id = node_output(g, nodes, C.EVALUATOR, C.EVALUATION_KEY)
    if evaluator is None or evaluation_id is None:
        return None
    state = g.state(evaluator)
    evaluator = _with_inputs(store, g, evaluator, evaluation_id)
    uri = g.artifacts[evaluation_id].uri
    entries = files.read(lambda: evaluation.metrics_by_slice(uri), [])
    overall = next((e["metrics"] for e in entries if e["slice"] is None), {})
    thresholds = files.read(lambda: evaluation.thresholds(uri), [])
    columns = files.read(lambda: evaluation.slice_columns(uri), [])
    blessing_id = node_output(g, nodes, C.EVALUATOR, C.BLESSING_KEY)
    blessing = g.artifacts.get(blessing_id) if blessing_id is not None else None
    model_id = g.input(evaluator, C.EVALUATOR_INPUT_MODEL)
    baseline_id = baseline_model(store, g, evaluator, blessing_id)
    return {
        "artifact": describe_in_run(g, evaluation_id, run_id),
        "state": state,
        "model": describe_in_run(g, model_id, run_id),
        "baseline": describe(g, baseline_id) if baseline_id is not None else None,
        "has_baseline_metrics": bool(overall.get("baseline")),
        "blessed": facts.blessed(blessing),
        "blessing": describe_in_run(g, blessing_id, run_id),
        "headline": evaluation.headline_of(thresholds),
        # Class names by class id, where the run recorded them (multiclass and binary specs).
        "classes": list(provenance.get("classes") or []),
        "overall": overall,
        "slices": _slices(entries, columns),
        "gated_slices": _gated_slices(thresholds, entries),
        "plots": files.read(lambda: evaluation.overall_plots(uri), {}),
        "thresholds": thresholds,
        "threshold_checks": _threshold_checks(thresholds, overall, entries),
        "validation": files.read(lambda: evaluation.validation(uri)),
        "splits": evaluated_splits(g, evaluator),
    }


def _push_section(g: Graph, nodes: Dict[str, int]) -> Optional[dict]:
    pushed_id = node_output(g, nodes, C.PUSHER, C.PUSHED_MODEL_KEY)
    if pushed_id is None:
        return None
    artifact = g.artifacts[pushed_id]
    return {"id": pushed_id, "state": g.state(nodes[C.PUSHER]),
            "pushed": facts.pushed(artifact),
            "destination": custom(artifact, C.PUSHED_DESTINATION_PROPERTY),
            "version": custom(artifact, C.PUSHED_VERSION_PROPERTY)}


def _data_section(g: Graph, nodes: Dict[str, int], run_id: str, files: _Files) -> dict:
    examples_id = node_output(g, nodes, C.EXAMPLE_GEN, C.EXAMPLES_KEY)
    statistics_id = node_output(g, nodes, C.STATISTICS_GEN, C.STATISTICS_KEY)
    anomalies_id = node_output(g, nodes, C.EXAMPLE_VALIDATOR, C.ANOMALIES_KEY)
    examples = g.artifacts.get(examples_id) if examples_id is not None else None
    return {
        "examples": describe_in_run(g, examples_id, run_id),
        "span": facts.span(examples) if examples is not None else None,
        "statistics": describe_in_run(g, statistics_id, run_id),
        "summary": files.read(lambda: statistics_summary(g.artifacts[statistics_id].uri), {})
        if statistics_id is not None else {},
        "anomalies": files.read(lambda: anomalies.anomaly_lines(g.artifacts[anomalies_id].uri))
        if anomalies_id is not None else None,
        "gate": g.state(nodes[C.ANOMALY_GATE]) if C.ANOMALY_GATE in nodes else None,
        "drift": _drift_section(g, nodes, files),
    }


def _drift_section(g: Graph, nodes: Dict[str, int], files: _Files) -> Optional[dict]:
    """The drift gate's state and its record (None unless it passed): {"state", "report"}."""
    if C.DRIFT_GATE not in nodes:
        return None
    report_id = node_output(g, nodes, C.DRIFT_GATE, C.DRIFT_REPORT_KEY)
    return {"state": g.state(nodes[C.DRIFT_GATE]),
            "report": files.read(lambda: read_drift_report(g.artifacts[report_id].uri))
            if report_id is not None else None}


def _registry_section(store, pipeline_name: str, serving_dir: Optional[str],
                      evaluation: Optional[dict]) -> List[dict]:
    """The serving versions that hold this run's model, with their aliases and every alias
    change naming them (a later promote, rollback or blessing override)."""
    model = (evaluation or {}).get("model") or {}
    if not serving_dir or model.get("id") is None:
        return []
    from tabflow.registry import catalog, serving
    if not serving.is_local(serving_dir):
        return []
    history = catalog.history(store, serving_dir)
    return [{"version": v.version, "aliases": v.aliases, "override": v.override,
             "override_reason": v.override_reason, "files_exist": v.files_exist,
             "history": [e for e in history if e["version"] == v.version]}
            for v in catalog.versions(store, pipeline_name, serving_dir,
                                      model_ids={model["id"]})]


def collect(store, pipeline_name: str, run: str = "latest",
            serving_dir: Optional[str] = None) -> dict:
    """The review of one run (`latest`, `previous` or a run id as `lineage runs` lists it);
    with `serving_dir`, also what the serving folder did with its model later."""
    info = resolve_run(store, pipeline_name, run)
    context = info.context
    g = run_graph(store, info)
    nodes = executions_by_node(g, context.id)
    run_id = info.run_id
    lineage_svg = render.to_svg(g) if g.executions else ""
    # Which run made each artifact: a cached run's artifacts were written by an earlier run's
    # execution, outside this run's graph.
    if g.artifacts:
        graph.load(store, "upstream", 1, artifact_ids=list(g.artifacts), graph=g)
    files = _Files()
    provenance = run_provenance(store, context.id)
    evaluation_section = _evaluation_section(store, g, nodes, run_id, files, provenance)
    data_section = _data_section(g, nodes, run_id, files)
    return {
        "pipeline": pipeline_name,
        "run": {"id": run_id, "runner": info.runner, "status": info.status,
                "started": info.started.isoformat(timespec="seconds"),
                "ended": info.ended.isoformat(timespec="seconds") if info.ended else None,
                "seconds": (info.ended - info.started).total_seconds() if info.ended else None,
                "failed_at": [node for node, state in info.components.items()
                              if state == "FAILED"]},
        "components": components_table(g, nodes),
        "data": data_section,
        "evaluation": evaluation_section,
        "push": _push_section(g, nodes),
        "registry": _registry_section(store, pipeline_name, serving_dir, evaluation_section),
        "provenance": provenance,
        "lineage_svg": lineage_svg,
        "unreadable": files.unreadable,
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def latest_evaluated_run(store, pipeline_name: str) -> Optional[str]:
    """The newest run whose Evaluator ran or was served from the cache (None if no run has)."""
    for info in reversed(list_runs(store, pipeline_name)):
        if info.components.get(C.EVALUATOR) in ("COMPLETE", "CACHED"):
            return info.run_id
    return None
