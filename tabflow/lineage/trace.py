"""`trace`: everything upstream of a pushed model or a model, and how it was judged."""
import os
from typing import Dict, Optional

from ml_metadata.metadata_store import ListOptions, OrderByField

from tabflow.artifacts import anomalies, files, schema, statistics, tuning
from tabflow.metadata import graph
from tabflow.metadata.artifacts import describe, described_entries, fill_reuse
from tabflow.metadata.errors import NotFound
from tabflow.metadata.graph import Graph, custom
from tabflow.metadata.judgement import has_files, judgement_section
from tabflow.metadata.provenance import run_provenance
from tabflow import contract as C
from tabflow.metadata import facts

LATEST_PUSHED = "latest-pushed"


def alias_path(spec: str, serving_dir: Optional[str]) -> Optional[str]:
    """The version folder an alias (`serving`, `canary`, or `alias:NAME`) of the serving
    folder names now, from its TensorFlow Serving model config; None when `spec` is no alias."""
    from tabflow.registry import serving
    name = spec[len("alias:"):] if spec.startswith("alias:") else spec
    if not serving_dir or not serving.is_local(serving_dir) or "/" in name:
        return None
    version = serving.read_labels(serving_dir).get(name)
    if version is None:
        if spec.startswith("alias:"):
            raise NotFound(f"no alias {name!r} in {serving.config_path(serving_dir)}")
        return None
    return os.path.join(serving_dir, str(version))


def resolve_target(store, spec: str, serving_dir: Optional[str] = None):
    """A PushedModel or Model artifact from an id, `latest-pushed`, an alias of the serving
    folder or a serving path."""
    aliased = None if spec.isdigit() or spec == LATEST_PUSHED else alias_path(spec, serving_dir)
    if aliased is not None:
        spec = aliased
    if spec.isdigit():
        found = store.get_artifacts_by_id([int(spec)])
    elif spec == LATEST_PUSHED:
        found = store.get_artifacts(list_options=ListOptions(
            filter_query=(f"type = '{C.PUSHED_MODEL_TYPE}' AND "
                          f"{facts.PUSHED_FILTER}"),
            order_by=OrderByField.CREATE_TIME, is_asc=False, limit=1))
    else:
        path = os.path.abspath(spec).rstrip("/").replace("'", "")
        # The push that wrote the folder (pushed=1); not a later run's record that the model
        # already served from it (pushed=0, same destination).
        found = store.get_artifacts(list_options=ListOptions(
            filter_query=(f"type = '{C.PUSHED_MODEL_TYPE}' AND custom_properties."
                          f"{C.PUSHED_DESTINATION_PROPERTY}.string_value = '{path}' AND "
                          f"{facts.PUSHED_FILTER}"),
            order_by=OrderByField.CREATE_TIME, is_asc=True, limit=1)) or store.get_artifacts(list_options=ListOptions(
                filter_query=f"type = '{C.MODEL_TYPE}' AND uri = '{path}'", limit=1))
    if not found:
        raise NotFound(f"no pushed model or model matches {spec!r}")
    artifact = found[0]
    type_name = store.get_artifact_types_by_id([artifact.type_id])[0].name
    if type_name not in (C.PUSHED_MODEL_TYPE, C.MODEL_TYPE):
        raise NotFound(f"artifact {artifact.id} is a {type_name}, not a PushedModel or Model")
    return artifact


def _producer_input(g: Graph, artifact_id: Optional[int], key: str) -> Optional[int]:
    if artifact_id is None:
        return None
    producer = g.producer(artifact_id)
    return None if producer is None else g.input(producer, key)


def _downstream_output(g: Graph, artifact_id: int, node_id: str, key: str) -> Optional[int]:
    """Output `key` of the `node_id` execution that consumed the artifact: the one that ran
    (COMPLETE) rather than the CACHED ones repeating its outputs."""
    executions = [e for e in g.consumers(artifact_id) if g.node_id(e) == node_id]
    ran = [e for e in executions if g.state(e) == "COMPLETE"] or executions
    return g.output(ran[0], key) if ran else None


def _validation_of(store, g: Graph, statistics_id: int, schema_id: Optional[int]):
    """The anomalies ExampleValidator found in these statistics against this curated schema.

    The same statistics may have been validated against several curated schemas over time
    (a schema fix re-runs only the validator); the model's own schema is the one that counts.
    """
    validators = [e for e in g.consumers(statistics_id) if g.node_id(e) == C.EXAMPLE_VALIDATOR]
    graph.load_executions(store, validators, graph=g)  # their schema inputs
    matching = [e for e in validators if g.input(e, C.VALIDATOR_INPUT_SCHEMA) == schema_id] or validators
    complete = [e for e in matching if g.state(e) == "COMPLETE"] or matching
    return g.output(complete[-1], C.ANOMALIES_KEY) if complete else None


def data_section(store, g: Graph, examples_id: Optional[int],
                 schema_id: Optional[int]) -> Dict[str, object]:
    """The raw data: span, fingerprint, files, rows per split, schemas and anomalies."""
    if examples_id is None:
        return {}
    graph.load(store, "downstream", 2, artifact_ids=[examples_id], graph=g)
    statistics_id = _downstream_output(g, examples_id, C.STATISTICS_GEN, C.STATISTICS_KEY)
    if statistics_id is not None:
        graph.load(store, "downstream", 2, artifact_ids=[statistics_id], graph=g)
    examples = g.artifacts[examples_id]
    out = {**describe(g, examples_id),
           "span": facts.span(examples), "version": custom(examples, "version"),
           "input_fingerprint": custom(examples, "input_fingerprint"),
           "files": files.data_files(examples.uri) if has_files(g, examples_id) else [],
           "statistics": describe(g, statistics_id),
           "row_counts": statistics.row_counts(g.artifacts[statistics_id].uri)
           if has_files(g, statistics_id) else {}}
    if statistics_id is not None:
        anomalies_id = _validation_of(store, g, statistics_id, schema_id)
        inferred_id = _downstream_output(g, statistics_id, C.SCHEMA_GEN, C.SCHEMA_KEY)
        out["anomalies"] = describe(g, anomalies_id)
        if anomalies_id is not None:
            out["anomalies"]["by_split"] = (anomalies.anomaly_lines(g.artifacts[anomalies_id].uri)
                                            if has_files(g, anomalies_id) else {})
        out["inferred_schema"] = describe(g, inferred_id)
    return out


def schema_section(g: Graph, curated_id: Optional[int], inferred: Optional[dict]):
    curated = describe(g, curated_id)
    if curated is not None:
        producer = g.producer(curated_id)
        execution = g.executions[producer] if producer is not None else None
        curated["schema_sha256"] = custom(execution, C.SCHEMA_SHA256_PROPERTY) if execution else None
        curated["schema_file"] = custom(execution, "schema_file") if execution else None
        if inferred is not None and has_files(g, curated_id) and has_files(g, inferred["id"]):
            inferred["differences_from_curated"] = schema.schema_differences(
                schema.schema_features(curated["uri"]), schema.schema_features(inferred["uri"]))
    return {"curated": curated, "inferred": inferred}


def _alias_section(store, target, destination: Optional[str]) -> Dict[str, object]:
    """The aliases naming this version now, every alias change that named it, and whether it
    was pushed by a blessing override."""
    from tabflow.registry import catalog, serving
    if not destination or not serving.is_local(destination):
        return {}
    serving_dir = os.path.dirname(destination.rstrip("/"))
    version = custom(target, C.PUSHED_VERSION_PROPERTY)
    labels = serving.read_labels(serving_dir)
    return {"aliases": sorted(a for a, v in labels.items() if str(v) == str(version)),
            "alias_history": [e for e in catalog.history(store, serving_dir)
                              if str(e["version"]) == str(version)],
            "override": bool(custom(target, C.OVERRIDE_PROPERTY, 0)),
            "override_reason": custom(target, C.OVERRIDE_REASON_PROPERTY, "")}


def search_section(g: Graph, hparams_id: int) -> Optional[Dict[str, object]]:
    """Which search chose a HyperParameters artifact's values (pipeline/tuning.py): this
    execution's own (reused_from None) or an earlier run's; None for artifacts written before
    the tuning policy recorded it."""
    artifact = g.artifacts[hparams_id]
    if custom(artifact, C.TUNING_KEY_PROPERTY) is None:
        return None
    return {"reused_from": custom(artifact, C.TUNING_REUSED_FROM_PROPERTY) or None,
            "tuned_on_span": custom(artifact, C.TUNED_ON_SPAN_PROPERTY),
            "tuned_in_run": custom(artifact, C.TUNED_IN_RUN_PROPERTY)}


def trace(store, spec: str, serving_dir: Optional[str] = None) -> Dict[str, object]:
    target = resolve_target(store, spec, serving_dir)
    g = graph.load(store, "upstream", 2, artifact_ids=[target.id])
    push = None
    model_id, blessing_id = target.id, None
    if g.type_name(target) == C.PUSHED_MODEL_TYPE:
        pusher = g.producer(target.id)
        if pusher is None:
            raise NotFound(f"pushed model {target.id} has no COMPLETE Pusher execution")
        model_id = g.input(pusher, C.PUSHER_INPUT_MODEL)
        blessing_id = g.input(pusher, C.PUSHER_INPUT_BLESSING)
        push = {**describe(g, target.id), "pushed": bool(custom(target, C.PUSHED_PROPERTY, 0)),
                "destination": custom(target, C.PUSHED_DESTINATION_PROPERTY),
                "version": custom(target, C.PUSHED_VERSION_PROPERTY)}
        push.update(_alias_section(store, target, push["destination"]))
    graph.load(store, "upstream", graph.MAX_HOPS, artifact_ids=[model_id], graph=g)
    trainer = g.producer(model_id)
    transform_graph_id = g.input(trainer, C.TRAINER_INPUT_TRANSFORM_GRAPH) if trainer else None
    examples_id = _producer_input(g, transform_graph_id, C.TRANSFORM_INPUT_EXAMPLES)
    curated_id = g.input(trainer, C.TRAINER_INPUT_SCHEMA) if trainer else None
    hparams_id = g.input(trainer, C.TRAINER_INPUT_HYPERPARAMETERS) if trainer else None

    data = data_section(store, g, examples_id, curated_id)
    hyper = describe(g, hparams_id)
    if hyper is not None:
        hyper["values"] = (tuning.hyperparameters(hyper["uri"]) if has_files(g, hparams_id)
                           else None)
        hyper["search"] = search_section(g, hparams_id)
        # A reused search's trials are with the search's own output (upstream of this Tuner).
        searched_id = (hyper["search"] or {}).get("reused_from") or hparams_id
        tuner = g.producer(searched_id) if searched_id in g.artifacts else None
        if tuner is not None:
            graph.load_executions(store, [tuner], graph=g)  # tuner_results is not upstream
        tuner_results = describe(g, g.output(tuner, C.TUNER_RESULTS_KEY)) if tuner else None
        if tuner_results is not None:
            tuner_results["trials"] = (tuning.tuner_trials(tuner_results["uri"])
                                       if has_files(g, tuner_results["id"]) else [])
        hyper["tuner_results"] = tuner_results
    transform = describe(g, transform_graph_id)
    if transform is not None:
        transform_exec = g.executions[g.producer(transform_graph_id)]
        transform["preprocessing_fn"] = custom(transform_exec, "preprocessing_fn")
        transform["custom_config"] = custom(transform_exec, "custom_config")
    run_context = g.run_context(trainer) if trainer else None
    report = {
        "target": {"id": target.id, "type": g.type_name(target), "uri": target.uri},
        "push": push,
        "model": describe(g, model_id),
        "data": {k: v for k, v in data.items() if k not in ("anomalies", "inferred_schema")},
        "schema": schema_section(g, curated_id, data.get("inferred_schema")),
        "anomalies": data.get("anomalies"),
        "transform": transform,
        "hyperparameters": hyper,
        **judgement_section(store, g, model_id, blessing_id),
        "provenance": run_provenance(store, run_context.id if run_context else None),
    }
    fill_reuse(store, g, described_entries(report))
    return report
