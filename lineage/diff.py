"""`diff`: what changed between two runs: data, schema, statistics, hyperparameters, metrics."""
from typing import Dict, Optional

from artifacts import anomalies, evaluation, schema, statistics, tuning
from artifacts.drift import feature_drifts
from lineage import runs
from lineage.graph import custom, run_id_of
from lineage.provenance import run_provenance

TOP_FEATURES = 10


def run_summary(store, pipeline_name: str, spec: str) -> Dict[str, object]:
    context = runs.run_context(store, pipeline_name, spec)
    g = runs.run_graph(store, context)
    nodes = runs.executions_by_node(g, context.id)

    def output(node, key):
        return runs.node_output(g, nodes, node, key)

    examples_id = output("CsvExampleGen", "examples")
    statistics_id = output("StatisticsGen", "statistics")
    anomalies_id = output("ExampleValidator", "anomalies")
    curated_exec = nodes.get("ImportSchemaGen")
    inferred_id = output("SchemaGen", "schema")
    hparams_id = output("Tuner", "best_hyperparameters")
    evaluation_id = output("Evaluator", "evaluation")
    blessing_id = output("Evaluator", "blessing")
    pushed_id = output("Pusher", "pushed_model")
    examples = g.artifacts.get(examples_id)
    blessing = g.artifacts.get(blessing_id)
    pushed = g.artifacts.get(pushed_id)
    return {
        "run_id": run_id_of(context, store.get_context_types_by_id([context.type_id])[0].name),
        "states": {node: g.state(e) for node, e in sorted(nodes.items())},
        "examples_id": examples_id,
        "span": custom(examples, "span") if examples else None,
        "input_fingerprint": custom(examples, "input_fingerprint") if examples else None,
        "statistics_uri": g.artifacts[statistics_id].uri if statistics_id else None,
        "row_counts": statistics.row_counts(g.artifacts[statistics_id].uri)
        if statistics_id else {},
        "anomalies": sum(len(v) for v in anomalies.anomaly_lines(
            g.artifacts[anomalies_id].uri).values()) if anomalies_id else None,
        "curated_schema_sha256": custom(g.executions[curated_exec], "schema_sha256")
        if curated_exec else None,
        "inferred_schema_uri": g.artifacts[inferred_id].uri if inferred_id else None,
        "model_id": output("Trainer", "model"),
        "hyperparameters": tuning.hyperparameters(g.artifacts[hparams_id].uri)
        if hparams_id else None,
        "metrics": evaluation.overall_metrics(g.artifacts[evaluation_id].uri)["candidate"]
        if evaluation_id else {},
        "blessed": bool(custom(blessing, "blessed", 0)) if blessing else None,
        "baseline_model_id": custom(blessing, "baseline_model_id") if blessing else None,
        # A CACHED Pusher repeats an earlier run's push: this run pushed only if it executed.
        "pushed": bool(pushed and custom(pushed, "pushed", 0)
                       and g.state(nodes["Pusher"]) == "COMPLETE"),
        "pushed_destination": custom(pushed, "pushed_destination") if pushed else None,
        "provenance": run_provenance(store, context.id),
    }


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
