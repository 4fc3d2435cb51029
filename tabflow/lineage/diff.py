"""`diff`: what changed between two runs: data, schema, statistics, hyperparameters, metrics."""
from typing import Dict, Optional

from tabflow.artifacts import anomalies, evaluation, schema, statistics, tuning
from tabflow.artifacts.drift import feature_drifts, read_drift_report
from tabflow.metadata.graph import custom
from tabflow.metadata.provenance import run_provenance
from tabflow.metadata.runs import executions_by_node, node_output, resolve_run, run_graph
from tabflow import contract as C

TOP_FEATURES = 10


def run_summary(store, pipeline_name: str, spec: str) -> Dict[str, object]:
    run = resolve_run(store, pipeline_name, spec)
    g = run_graph(store, run)
    nodes = executions_by_node(g, run.context.id)

    def output(node, key):
        return node_output(g, nodes, node, key)

    examples_id = output(C.EXAMPLE_GEN, C.EXAMPLES_KEY)
    statistics_id = output(C.STATISTICS_GEN, C.STATISTICS_KEY)
    anomalies_id = output(C.EXAMPLE_VALIDATOR, C.ANOMALIES_KEY)
    curated_exec = nodes.get(C.CURATED_SCHEMA)
    inferred_id = output(C.SCHEMA_GEN, C.SCHEMA_KEY)
    hparams_id = output(C.TUNER, C.BEST_HYPERPARAMETERS_KEY)
    evaluation_id = output(C.EVALUATOR, C.EVALUATION_KEY)
    blessing_id = output(C.EVALUATOR, C.BLESSING_KEY)
    pushed_id = output(C.PUSHER, C.PUSHED_MODEL_KEY)
    drift_id = output(C.DRIFT_GATE, C.DRIFT_REPORT_KEY)
    examples = g.artifacts.get(examples_id)
    blessing = g.artifacts.get(blessing_id)
    pushed = g.artifacts.get(pushed_id)
    return {
        "run_id": run.run_id,
        "states": {node: g.state(e) for node, e in sorted(nodes.items())},
        "examples_id": examples_id,
        "span": custom(examples, C.SPAN_PROPERTY) if examples else None,
        "input_fingerprint": custom(examples, "input_fingerprint") if examples else None,
        "statistics_uri": g.artifacts[statistics_id].uri if statistics_id else None,
        "row_counts": statistics.row_counts(g.artifacts[statistics_id].uri)
        if statistics_id else {},
        "anomalies": sum(len(v) for v in anomalies.anomaly_lines(
            g.artifacts[anomalies_id].uri).values()) if anomalies_id else None,
        "drift_gate": drift_gate(g, nodes, drift_id),
        "curated_schema_sha256": custom(g.executions[curated_exec], C.SCHEMA_SHA256_PROPERTY)
        if curated_exec else None,
        "inferred_schema_uri": g.artifacts[inferred_id].uri if inferred_id else None,
        "model_id": output(C.TRAINER, C.MODEL_KEY),
        "hyperparameters": tuning.hyperparameters(g.artifacts[hparams_id].uri)
        if hparams_id else None,
        "metrics": evaluation.overall_metrics(g.artifacts[evaluation_id].uri)["candidate"]
        if evaluation_id else {},
        "blessed": bool(custom(blessing, C.BLESSED_PROPERTY, 0)) if blessing else None,
        "baseline_model_id": custom(blessing, C.BASELINE_MODEL_PROPERTY) if blessing else None,
        "pushed": run.pushed,
        "pushed_destination": custom(pushed, C.PUSHED_DESTINATION_PROPERTY) if pushed else None,
        "provenance": run_provenance(store, run.context.id),
    }


def drift_gate(g, nodes: Dict[str, int], report_id: Optional[int]) -> Dict[str, object]:
    """What the run's drift gate decided: {"state" (None when the run has no gate),
    "baseline_span" (None: no baseline), "baseline_statistics_id", "features": the distances
    it measured, with their thresholds (empty when the gate failed or had no baseline)}."""
    report = read_drift_report(g.artifacts[report_id].uri) if report_id is not None else None
    baseline = (report or {}).get("baseline") or {}
    return {"state": g.state(nodes[C.DRIFT_GATE]) if C.DRIFT_GATE in nodes else None,
            "baseline_span": baseline.get("span"),
            "baseline_statistics_id": baseline.get("statistics_id"),
            "features": (report or {}).get("features", [])}


def _status(states: Dict[str, str]) -> str:
    """"COMPLETE" or "FAILED at <node>", with how many nodes executed and were cached."""
    failed = [node for node, state in states.items() if state not in ("COMPLETE", "CACHED")]
    executed = sum(1 for state in states.values() if state == "COMPLETE")
    cached = sum(1 for state in states.values() if state == "CACHED")
    head = f"{states[failed[0]]} at {', '.join(failed)}" if failed else "COMPLETE"
    return f"{head} ({executed} executed, {cached} cached)"


def _changed(a, b) -> Optional[Dict[str, object]]:
    return None if a == b else {"a": a, "b": b}


def diff(store, pipeline_name: str, spec_a: str, spec_b: str,
         top: int = TOP_FEATURES) -> Dict[str, object]:
    a = run_summary(store, pipeline_name, spec_a)
    b = run_summary(store, pipeline_name, spec_b)
    drift = []
    if a["statistics_uri"] and b["statistics_uri"] and a["statistics_uri"] != b["statistics_uri"]:
        stats_a, stats_b = (statistics.read_statistics(a["statistics_uri"]),
                            statistics.read_statistics(b["statistics_uri"]))
        for split in sorted(set(stats_a) & set(stats_b)):
            drift += [{"split": split, "feature": d.feature, "measure": d.measure,
                       "distance": d.distance}
                      for d in feature_drifts(stats_a[split], stats_b[split])]
        drift = sorted(drift, key=lambda d: (-d["distance"], d["feature"], d["split"]))[:top]
    schema_changes = []
    if a["inferred_schema_uri"] and b["inferred_schema_uri"]:
        schema_changes = schema.schema_differences(
            schema.schema_features(a["inferred_schema_uri"]),
            schema.schema_features(b["inferred_schema_uri"]))
    metric_names = sorted(set(a["metrics"]) | set(b["metrics"]))
    prov_a, prov_b = a["provenance"], b["provenance"]
    changed_files = sorted(k for k in set(prov_a["files"]) | set(prov_b["files"])
                           if prov_a["files"].get(k) != prov_b["files"].get(k))
    return {
        "a": a["run_id"], "b": b["run_id"],
        "status": {"a": _status(a["states"]), "b": _status(b["states"])},
        "data": {"anomalies": {"a": a["anomalies"], "b": b["anomalies"]},
                 "examples_id": _changed(a["examples_id"], b["examples_id"]),
                 "span": _changed(a["span"], b["span"]),
                 "input_fingerprint": _changed(a["input_fingerprint"], b["input_fingerprint"]),
                 "row_counts": {"a": a["row_counts"], "b": b["row_counts"]}},
        "schema": {"curated_sha256": _changed(a["curated_schema_sha256"],
                                              b["curated_schema_sha256"]),
                   "inferred_feature_changes": schema_changes},
        "statistics_drift": drift,
        "drift_gate": {"a": a["drift_gate"], "b": b["drift_gate"]},
        "hyperparameters": _changed(a["hyperparameters"], b["hyperparameters"]),
        "model_id": _changed(a["model_id"], b["model_id"]),
        "metrics": {name: {"a": a["metrics"].get(name), "b": b["metrics"].get(name)}
                    for name in metric_names},
        "blessing": {"a": {"blessed": a["blessed"], "baseline_model_id": a["baseline_model_id"],
                           "pushed": a["pushed"]},
                     "b": {"blessed": b["blessed"], "baseline_model_id": b["baseline_model_id"],
                           "pushed": b["pushed"]}},
        "provenance": {"git_commit": _changed(prov_a["git_commit"], prov_b["git_commit"]),
                       "code_sha256": _changed(prov_a["code_sha256"], prov_b["code_sha256"]),
                       "runner": {"a": prov_a["runner"], "b": prov_b["runner"]},
                       "changed_files": changed_files},
        "states": {"a": a["states"], "b": b["states"]},
    }
